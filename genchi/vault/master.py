"""The master key: one file under the data folder, never in the database (D1)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class MasterKeyError(Exception):
    pass


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    key: bytes


def master_key_path() -> Path:
    return Path(settings.GENCHI_KEY_DIR) / "master.key"


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"genchi-master-key-id\x00" + key).hexdigest()[:16]


def new_master_key() -> MasterKey:
    key = secrets.token_bytes(32)
    return MasterKey(_key_id(key), key)


def write_master_key(master: MasterKey, path: Path | None = None) -> Path:
    """Atomically (re)place the key file, readable by its owner only."""
    path = path or master_key_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"id": master.key_id, "key": base64.b64encode(master.key).decode()}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def read_master_key(path: Path | None = None) -> MasterKey:
    path = path or master_key_path()
    try:
        data = json.loads(path.read_text())
        key = base64.b64decode(data["key"])
    except FileNotFoundError as exc:
        raise MasterKeyError(f"マスター鍵ファイルがありません: {path.name}") from exc
    except (ValueError, KeyError) as exc:
        raise MasterKeyError("マスター鍵ファイルが壊れています") from exc
    if len(key) != 32 or _key_id(key) != data.get("id"):
        raise MasterKeyError("マスター鍵ファイルが壊れています")
    return MasterKey(data["id"], key)


def load_or_create_master_key() -> MasterKey:
    path = master_key_path()
    if not path.exists():
        write_master_key(new_master_key(), path)
    return read_master_key(path)

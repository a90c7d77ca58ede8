"""The master key: one file under the data folder, never in the database (D1)."""

from __future__ import annotations

import base64
import binascii
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


PAPER_PREFIX = "GENCHI-MK1"


def master_key_to_paper(master: MasterKey) -> str:
    """The master key as text for paper and a QR code: GENCHI-MK1 and 15 groups of
    base32 (the key and a 4-byte check), so a mistyped group is caught on restore."""
    body = master.key + hashlib.sha256(master.key).digest()[:4]
    text = base64.b32encode(body).decode("ascii").rstrip("=")
    groups = " ".join(text[i : i + 4] for i in range(0, len(text), 4))
    return f"{PAPER_PREFIX} {groups}"


def master_key_from_text(text: str) -> MasterKey:
    """A master key from its paper form or from the content of a key file."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            key = base64.b64decode(data["key"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MasterKeyError("マスター鍵ファイルが壊れています") from exc
        if len(key) != 32 or _key_id(key) != data.get("id"):
            raise MasterKeyError("マスター鍵ファイルが壊れています")
        return MasterKey(data["id"], key)
    compact = "".join(text.upper().split())
    if not compact.startswith(PAPER_PREFIX):
        raise MasterKeyError(
            f"マスター鍵は {PAPER_PREFIX} で始まる文字列か鍵ファイルで指定してください"
        )
    encoded = compact[len(PAPER_PREFIX) :]
    try:
        body = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except (ValueError, binascii.Error) as exc:
        raise MasterKeyError("マスター鍵の文字に誤りがあります(A〜Z と 2〜7 のみです)") from exc
    key, check = body[:32], body[32:]
    if len(body) != 36 or hashlib.sha256(key).digest()[:4] != check:
        raise MasterKeyError("マスター鍵の文字に誤りがあります(確認用の符号が合いません)")
    return MasterKey(_key_id(key), key)

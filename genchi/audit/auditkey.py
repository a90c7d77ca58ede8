"""The audit log's key: one file under the key folder, never in the database (D3).

Every entry's hash is an HMAC under this key, so someone who can write the database but
cannot read this file can no longer recompute a chain after changing it. The file is kept
like the master key (genchi/vault/master.py): mode 0600 in a 0700 folder, replaced only
atomically. It also names the first entry it keys (`keyed_from`): entries before it were
written by a Genchi without the key and are checked with the unkeyed hash, pinned by the
first keyed entry that links to them.

Three keys are derived from the secret, one per use, so a tag of one kind can never
stand for another: entries, anchor lines and checkpoints.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class AuditKeyError(Exception):
    """The key file is missing where entries already exist, or is damaged."""


@dataclass(frozen=True)
class AuditKey:
    key_id: str
    keyed_from: int
    entry_key: bytes
    anchor_key: bytes
    checkpoint_key: bytes


def audit_key_path() -> Path:
    return Path(settings.GENCHI_KEY_DIR) / "audit.key"


def _key_id(secret: bytes) -> str:
    return hashlib.sha256(b"genchi-audit-key-id\x00" + secret).hexdigest()[:16]


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret, b"genchi-audit-" + purpose, hashlib.sha256).digest()


def _from_secret(secret: bytes, keyed_from: int) -> AuditKey:
    return AuditKey(
        key_id=_key_id(secret),
        keyed_from=keyed_from,
        entry_key=_derive(secret, b"entry"),
        anchor_key=_derive(secret, b"anchor"),
        checkpoint_key=_derive(secret, b"checkpoint"),
    )


def create_audit_key(keyed_from: int, path: Path | None = None) -> AuditKey:
    """Write a new key file; never replaces one that exists (two processes starting an
    empty log at once both end up with the first one's key)."""
    path = path or audit_key_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_bytes(32)
    body = {
        "id": _key_id(secret),
        "key": base64.b64encode(secret).decode(),
        "keyed_from": keyed_from,
    }
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # one appeared meanwhile: keep that one
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return read_audit_key(path)


def read_audit_key(path: Path | None = None) -> AuditKey:
    path = path or audit_key_path()
    try:
        data = json.loads(path.read_text())
        secret = base64.b64decode(data["key"], validate=True)
        keyed_from = data["keyed_from"]
    except FileNotFoundError as exc:
        raise AuditKeyError(f"監査ログの鍵ファイルがありません: {path.name}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditKeyError(f"監査ログの鍵ファイルが壊れています: {path.name}") from exc
    if (
        len(secret) != 32
        or _key_id(secret) != data.get("id")
        or not isinstance(keyed_from, int)
        or keyed_from < 1
    ):
        raise AuditKeyError(f"監査ログの鍵ファイルが壊れています: {path.name}")
    return _from_secret(secret, keyed_from)


_cache: dict[str, AuditKey] = {}


def cached_audit_key() -> AuditKey | None:
    """The key for appending, read once per process (per key folder); None if absent."""
    path = audit_key_path()
    found = _cache.get(str(path))
    if found is None and path.exists():
        found = _cache[str(path)] = read_audit_key(path)
    return found


def key_for_appending(next_seq: int) -> AuditKey:
    """The key to chain entry `next_seq` with; called under the chain's lock.

    An empty log gets a new key. A log with entries but no key file is refused: a new key
    would let whoever removed the file start a chain of their own on top."""
    found = cached_audit_key()
    if found is not None:
        return found
    if next_seq != 1:
        raise AuditKeyError(
            f"監査ログの鍵ファイルがありません: {audit_key_path().name}"
            f"(記録が {next_seq - 1} 件あるため、新しい鍵は作りません。鍵ファイルを復元してください)"
        )
    created = create_audit_key(keyed_from=1)
    _cache[str(audit_key_path())] = created
    return created


def tag(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()

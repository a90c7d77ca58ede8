"""Encrypting uploaded files and preview reports under the contract's key (D1).

An import run keeps the uploaded file between preview and commit, and the preview
report quotes row values; both are stored only as AES-256-GCM ciphertext under the
contract's current data key, bound to the run and the purpose by the associated data.
"""

from __future__ import annotations

import json
import secrets
import uuid
import zlib
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from genchi.vault.keys import KeyUnavailable, current_key, key_by_id


class SealError(Exception):
    pass


def _aad(run_id: int, purpose: str) -> bytes:
    return f"genchi-intake:{purpose}:{run_id}".encode()


def seal(contract_id: int, run_id: int, purpose: str, data: bytes) -> bytes:
    key_id, key = current_key(contract_id)
    nonce = secrets.token_bytes(12)
    packed = zlib.compress(data, 3)
    return key_id.bytes + nonce + AESGCM(key).encrypt(nonce, packed, _aad(run_id, purpose))


def unseal(run_id: int, purpose: str, blob: bytes) -> bytes:
    blob = bytes(blob or b"")
    if len(blob) < 28:
        raise SealError("保存されたファイルがありません")
    key_id, nonce, ct = uuid.UUID(bytes=blob[:16]), blob[16:28], blob[28:]
    try:
        packed = AESGCM(key_by_id(key_id)).decrypt(nonce, ct, _aad(run_id, purpose))
    except (InvalidTag, KeyUnavailable) as exc:
        raise SealError("保存されたファイルを復号できません") from exc
    return zlib.decompress(packed)


def seal_json(contract_id: int, run_id: int, purpose: str, value: Any) -> bytes:
    return seal(contract_id, run_id, purpose, json.dumps(value, ensure_ascii=False).encode())


def unseal_json(run_id: int, purpose: str, blob: bytes) -> Any:
    return json.loads(unseal(run_id, purpose, blob).decode("utf-8"))

"""Per-contract data keys: creation, unwrapping (cached), rotation and destruction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction
from django.utils import timezone

from genchi.audit.chain import record

from .master import (
    MasterKey,
    MasterKeyError,
    load_or_create_master_key,
    master_key_path,
    new_master_key,
    read_master_key,
    write_master_key,
)
from .models import ContractKey


class KeyUnavailable(Exception):
    """The data key is destroyed (crypto-erased) or cannot be unwrapped."""


_lock = threading.Lock()
_by_key_id: dict[uuid.UUID, bytes] = {}
_current_for_contract: dict[int, uuid.UUID] = {}
_master: MasterKey | None = None


def clear_cache() -> None:
    global _master
    with _lock:
        _by_key_id.clear()
        _current_for_contract.clear()
        _master = None


# Other secrets wrapped by the master key register a re-wrapper here (app ready()):
# called inside the rotation's transaction with (old, new), returning how many it re-wrapped.
MasterKeyRewrapper = Callable[[MasterKey, MasterKey], int]
master_key_rewrappers: list[MasterKeyRewrapper] = []


def current_master_key() -> MasterKey:
    """The master key in force (loaded once per process, finishing any interrupted rotation)."""
    return _master_key()


def _master_key() -> MasterKey:
    global _master
    if _master is None:
        _master = _load_master_key()
    return _master


def _load_master_key() -> MasterKey:
    path = master_key_path()
    pending = path.with_name("master.key.new")
    if pending.exists():
        # A rotation stopped between the database commit and the file rename: finish or drop it.
        candidate = read_master_key(pending)
        if ContractKey.objects.filter(master_key_id=candidate.key_id).exists():
            pending.replace(path)
        else:
            pending.unlink()
    if not path.exists() and ContractKey.objects.filter(destroyed_at__isnull=True).exists():
        raise MasterKeyError(
            "マスター鍵ファイルがありません。バックアップから戻してください(新しい鍵は作りません)"
        )
    return load_or_create_master_key()


def _wrap_aad(contract_id: int, key_id: uuid.UUID) -> bytes:
    return f"genchi-contract-key:{contract_id}:{key_id}".encode()


def _wrap(master: MasterKey, contract_id: int, key_id: uuid.UUID, key: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(master.key).encrypt(nonce, key, _wrap_aad(contract_id, key_id))


def _unwrap(master: MasterKey, row: ContractKey) -> bytes:
    if row.destroyed_at is not None:
        raise KeyUnavailable("この契約のデータ鍵は破棄済みです")
    if row.master_key_id != master.key_id:
        raise KeyUnavailable("データ鍵が現在のマスター鍵で包まれていません")
    blob = bytes(row.wrapped_key)
    try:
        return AESGCM(master.key).decrypt(blob[:12], blob[12:], _wrap_aad(row.contract_id, row.id))
    except InvalidTag as exc:
        raise KeyUnavailable("データ鍵を復号できません") from exc


def create_contract_key(contract) -> ContractKey:
    key_id = uuid.uuid4()
    key = AESGCM.generate_key(bit_length=256)
    master = _master_key()
    row = ContractKey.objects.create(
        id=key_id,
        contract=contract,
        wrapped_key=_wrap(master, contract.pk, key_id, key),
        master_key_id=master.key_id,
    )
    with _lock:
        _by_key_id[key_id] = key
        _current_for_contract[contract.pk] = key_id
    return row


def current_key(contract_id: int) -> tuple[uuid.UUID, bytes]:
    """The key new data of this contract is encrypted under (created on first use)."""
    key_id = _current_for_contract.get(contract_id)
    if key_id is not None and key_id in _by_key_id:
        return key_id, _by_key_id[key_id]
    row = (
        ContractKey.objects.filter(contract_id=contract_id, destroyed_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if row is None:
        from genchi.parties.models import Contract

        if ContractKey.objects.filter(contract_id=contract_id).exists():
            raise KeyUnavailable("この契約のデータ鍵は破棄済みです")
        row = create_contract_key(Contract.objects.get(pk=contract_id))
    key = key_by_id(row.id)
    with _lock:
        _current_for_contract[contract_id] = row.id
    return row.id, key


def key_by_id(key_id: uuid.UUID) -> bytes:
    key = _by_key_id.get(key_id)
    if key is not None:
        return key
    row = ContractKey.objects.filter(pk=key_id).first()
    if row is None:
        raise KeyUnavailable("データ鍵が見つかりません")
    key = _unwrap(_master_key(), row)
    with _lock:
        _by_key_id[key_id] = key
    return key


def blind_index(contract_id: int, value: str) -> str:
    """A keyed hash for equality lookups on encrypted values (e.g. duplicate detection)."""
    _, key = current_key(contract_id)
    index_key = hashlib.sha256(b"genchi-blind-index\x00" + key).digest()
    return hmac.new(index_key, value.encode(), hashlib.sha256).hexdigest()


def destroy_contract_keys(contract) -> list[str]:
    """Crypto-erasure: blank every data key of the contract. Returns the destroyed key ids."""
    destroyed = []
    with transaction.atomic():
        for row in ContractKey.objects.select_for_update().filter(
            contract=contract, destroyed_at__isnull=True
        ):
            row.wrapped_key = b""
            row.destroyed_at = timezone.now()
            row.save(update_fields=["wrapped_key", "destroyed_at"])
            destroyed.append(str(row.id))
    clear_cache()
    return destroyed


def rotate_master_key() -> tuple[str, str, int]:
    """Re-wrap every live contract key (and every registered secret) under a new master key.

    The new key is written beside the old one first and everything is re-wrapped in one
    transaction with its log entry, so a crash in between leaves either the old state or
    the new one recoverable, never neither; a failure (of a re-wrap or of the entry) rolls
    back and removes the new key. Returns (old id, new id, number of secrets re-wrapped).
    """
    old = _master_key()
    new = new_master_key()
    path = master_key_path()
    pending = path.with_name("master.key.new")
    write_master_key(new, pending)
    count = 0
    try:
        with transaction.atomic():
            for row in ContractKey.objects.select_for_update().filter(destroyed_at__isnull=True):
                key = _unwrap(old, row)
                row.wrapped_key = _wrap(new, row.contract_id, row.id, key)
                row.master_key_id = new.key_id
                row.save(update_fields=["wrapped_key", "master_key_id"])
                count += 1
            for rewrap in master_key_rewrappers:
                count += rewrap(old, new)
            record(
                "vault.master_rotated",
                detail={"old": old.key_id, "new": new.key_id, "keys": count},
            )
    except BaseException:
        pending.unlink(missing_ok=True)  # rolled back: the old key still wraps everything
        raise
    pending.replace(path)
    clear_cache()
    return old.key_id, new.key_id, count

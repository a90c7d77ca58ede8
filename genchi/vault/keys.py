"""Data keys by scope: creation, unwrapping (cached), master-key rotation, destruction (D1).

Each scope (`genchi.vault.scopes`: one side of a contract, or an organisation) has its
own data key, stored only wrapped by the master key (`DataKey`). The wrapping itself,
like every other cipher call, is in `genchi.vault.encryption`.

Several processes on several hosts share the keyring (docs/deploy.md). Each caches the
keys it unwrapped and the master key; a destruction or a rotation raises the keyring's
generation (`KeyringState`) in its transaction, and a process compares the generation it
saw with the database's before it uses its cache: at the first key used in each request
(`expire_checks` on `request_started`) and otherwise at least every
`GENCHI_KEY_RECHECK_SECONDS` (1 s: a long job). A destroyed key is then unusable on every
host from the next request on. Rotations (and the recovery of an interrupted one) run
one at a time across hosts under the database lock `vault-master`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from genchi.audit.chain import record
from genchi.core.locks import session_lock, transaction_lock

from .errors import DecryptionFailed, KeyUnavailable
from .master import (
    MasterKey,
    MasterKeyError,
    load_or_create_master_key,
    master_key_path,
    new_master_key,
    read_master_key,
    write_master_key,
)
from .models import DataKey, KeyringState
from .scopes import HOLDERS, Scope

if TYPE_CHECKING:
    from genchi.parties.models import Contract, Organisation

_lock = threading.Lock()
_by_key_id: dict[uuid.UUID, bytes] = {}
_scope_of_key: dict[uuid.UUID, Scope] = {}
_current_for_scope: dict[Scope, tuple[uuid.UUID, bytes]] = {}
# (contract id, holder) → scope. A contract's parties never change (parties.services
# refuses it), so this holds for the life of the process.
_contract_scopes: dict[tuple[int, str], Scope] = {}
_master: MasterKey | None = None


MASTER_LOCK = "vault-master"
# The keyring generation this process's cache belongs to, and when it last compared it
# with the database's (monotonic seconds; 0 = at the next key used).
_generation: int | None = None
_checked_at = 0.0


def clear_cache() -> None:
    global _master, _generation, _checked_at
    with _lock:
        _by_key_id.clear()
        _scope_of_key.clear()
        _current_for_scope.clear()
        _contract_scopes.clear()
        _master = None
        # The next key used reads the generation before it is cached again.
        _generation, _checked_at = None, 0.0


def expire_checks(**_kwargs) -> None:
    """Compare the keyring's generation again at the next key used (each request)."""
    global _checked_at
    _checked_at = 0.0


_table_ready = False


def keyring_generation() -> int:
    global _table_ready
    if not _table_ready:
        # Data migrations of other apps decrypt before this app's table exists.
        if KeyringState._meta.db_table not in connection.introspection.table_names():
            return 0
        _table_ready = True
    return KeyringState.objects.filter(pk=1).values_list("generation", flat=True).first() or 0


def _bump_generation() -> None:
    """Inside the transaction that destroys or re-wraps keys: every process drops its cache."""
    if not KeyringState.objects.filter(pk=1).update(generation=F("generation") + 1):
        KeyringState.objects.create(pk=1, generation=1)


def _recheck() -> None:
    """Drop this process's cached keys if another process (any host) destroyed keys or
    rotated the master key since they were cached."""
    global _generation, _checked_at
    now = time.monotonic()
    if _checked_at and now - _checked_at < float(settings.GENCHI_KEY_RECHECK_SECONDS):
        return
    generation = keyring_generation()
    if _generation is not None and generation != _generation:
        clear_cache()
    _generation, _checked_at = generation, now


# Other secrets wrapped by the master key register a re-wrapper here (app ready()):
# called inside the rotation's transaction with (old, new), returning how many it re-wrapped.
MasterKeyRewrapper = Callable[[MasterKey, MasterKey], int]
master_key_rewrappers: list[MasterKeyRewrapper] = []


# --- scopes -------------------------------------------------------------------------------


def contract_scope(contract_id: int, holder: str) -> Scope:
    """The scope of the `holder` side ("ward" or "contractor") of a contract: one dict
    lookup once the contract is known, so bulk writes can call it per value."""
    scope = _contract_scopes.get((contract_id, holder))
    if scope is not None:
        return scope
    if holder not in HOLDERS:
        raise ValueError(f"holder は {' / '.join(HOLDERS)} のどちらかです: {holder!r}")
    # The vault sits below `parties`: it reaches the contract through its own foreign key.
    contracts = DataKey._meta.get_field("contract").related_model._default_manager
    parties = contracts.filter(pk=contract_id).values_list("ward_id", "contractor_id")
    row = parties.first()
    if row is None:
        raise ValueError(f"契約が見つかりません: {contract_id}")
    with _lock:
        for side, organisation_id in zip(HOLDERS, row, strict=True):
            _contract_scopes[(contract_id, side)] = Scope(organisation_id, contract_id)
    return _contract_scopes[(contract_id, holder)]


def scope_of(contract: Contract, organisation: Organisation) -> Scope:
    """The scope of `organisation`'s side of `contract` (it must be one of its parties)."""
    if organisation.pk not in (contract.ward_id, contract.contractor_id):
        raise ValueError(f"{organisation.code} は契約 {contract.code} の当事者ではありません")
    return Scope(organisation.pk, contract.pk)


def organisation_scope(organisation_id: int) -> Scope:
    """The scope of an organisation's data that belongs to no contract."""
    return Scope(organisation_id)


def _rows_of(scope: Scope):
    # contract_id=None matches the organisation's own keys (IS NULL).
    return DataKey.objects.filter(
        organisation_id=scope.organisation_id, contract_id=scope.contract_id
    )


# --- the master key -----------------------------------------------------------------------


def current_master_key() -> MasterKey:
    """The master key in force (loaded once per process, finishing any interrupted rotation)."""
    global _master
    _recheck()
    if _master is None:
        _master = _load_master_key()
    return _master


def _load_master_key() -> MasterKey:
    path = master_key_path()
    pending = path.with_name("master.key.new")
    if not pending.exists() and path.exists():
        return read_master_key(path)
    # A rotation under way (another process, maybe on another host) holds the lock until
    # its file is in place: only then can a pending file be told from an abandoned one.
    with session_lock(MASTER_LOCK):
        if pending.exists():
            # A rotation stopped between the database commit and the file rename: finish
            # or drop it.
            candidate = read_master_key(pending)
            if DataKey.objects.filter(master_key_id=candidate.key_id).exists():
                pending.replace(path)
            else:
                pending.unlink()
        if not path.exists() and DataKey.objects.filter(destroyed_at__isnull=True).exists():
            raise MasterKeyError(
                "マスター鍵ファイルがありません。バックアップから戻してください(新しい鍵は作りません)"
            )
        return load_or_create_master_key()


# --- wrapping data keys -------------------------------------------------------------------
# `encryption` imports this module for its keys, so this module imports it where it wraps
# (key creation, first unwrap, rotation: rare, and never at import time).


def _wrap_context(scope: Scope, key_id: uuid.UUID) -> str:
    return f"data-key:{scope.label}:{key_id}"


def _legacy_wrap_context(row: DataKey) -> str:
    # Keys made before scopes were per contract only, bound to the contract and key id.
    return f"contract-key:{row.contract_id}:{row.id}"


def _wrap(master: MasterKey, scope: Scope, key_id: uuid.UUID, key: bytes) -> bytes:
    from . import encryption

    return encryption.wrap_secret(_wrap_context(scope, key_id), key, master)


def _unwrap(master: MasterKey, row: DataKey) -> bytes:
    from . import encryption

    if row.destroyed_at is not None:
        raise KeyUnavailable("このデータ鍵は破棄済みです")
    if row.master_key_id != master.key_id:
        raise KeyUnavailable("データ鍵が現在のマスター鍵で包まれていません")
    try:
        return encryption.unwrap_secret(
            _wrap_context(row.scope, row.id),
            bytes(row.wrapped_key),
            master,
            legacy_context=_legacy_wrap_context(row),
        )
    except DecryptionFailed as exc:
        raise KeyUnavailable("データ鍵を復号できません") from exc


# --- data keys ----------------------------------------------------------------------------


def create_data_key(scope: Scope) -> DataKey:
    """A new data key for `scope`; new data of the scope is encrypted under it from now on."""
    from . import encryption

    key_id = uuid.uuid4()
    key = encryption.new_data_key()
    with transaction.atomic():
        # Until this key commits no rotation (any host) starts, and none is under way: it
        # is wrapped under the master key in force, never under one being retired, and a
        # rotation after it re-wraps it with the others.
        transaction_lock(MASTER_LOCK)
        expire_checks()
        master = current_master_key()
        row = DataKey.objects.create(
            id=key_id,
            organisation_id=scope.organisation_id,
            contract_id=scope.contract_id,
            wrapped_key=_wrap(master, scope, key_id, key),
            master_key_id=master.key_id,
        )
    with _lock:
        _by_key_id[key_id] = key
        _scope_of_key[key_id] = scope
        _current_for_scope[scope] = (key_id, key)
    return row


def create_contract_key(contract: Contract) -> DataKey:
    """The ward's data key of a new contract (the contractor's is made on its first use)."""
    return create_data_key(scope_of(contract, contract.ward))


def current_key(scope: Scope) -> tuple[uuid.UUID, bytes]:
    """The key new data of `scope` is encrypted under (created on first use)."""
    _recheck()
    current = _current_for_scope.get(scope)
    if current is not None:
        return current
    row = _rows_of(scope).filter(destroyed_at__isnull=True).order_by("-created_at").first()
    if row is None:
        if _rows_of(scope).exists():
            raise KeyUnavailable("このデータ鍵は破棄済みです")
        row = create_data_key(scope)
    current = (row.id, key_by_id(row.id))
    with _lock:
        _current_for_scope[scope] = current
    return current


def _row(key_id: uuid.UUID) -> DataKey:
    row = DataKey.objects.filter(pk=key_id).first()
    if row is None:
        # Destroyed keys keep their row: a key id nobody has is altered or foreign data.
        raise DecryptionFailed("暗号文の名指すデータ鍵がありません")
    with _lock:
        _scope_of_key[key_id] = row.scope
    return row


def key_scope(key_id: uuid.UUID) -> Scope:
    """The scope a key belongs to (known for destroyed keys too)."""
    scope = _scope_of_key.get(key_id)
    return scope if scope is not None else _row(key_id).scope


def key_by_id(key_id: uuid.UUID) -> bytes:
    _recheck()
    key = _by_key_id.get(key_id)
    if key is not None:
        return key
    key = _unwrap(current_master_key(), _row(key_id))
    with _lock:
        _by_key_id[key_id] = key
    return key


def destroy_keys(scope: Scope) -> list[str]:
    """Crypto-erasure: blank every data key of `scope`. Returns the destroyed key ids."""
    destroyed = []
    with transaction.atomic():
        for row in (
            _rows_of(scope)
            .select_for_update(of=("self",), no_key=True)
            .filter(destroyed_at__isnull=True)
        ):
            row.wrapped_key = b""
            row.destroyed_at = timezone.now()
            row.save(update_fields=["wrapped_key", "destroyed_at"])
            destroyed.append(str(row.id))
        _bump_generation()
    clear_cache()
    return destroyed


def destroy_contract_keys(contract: Contract, organisation: Organisation) -> list[str]:
    """Crypto-erasure of `organisation`'s side of `contract` only: the other side's data
    of the same contract stays readable. Returns the destroyed key ids."""
    return destroy_keys(scope_of(contract, organisation))


def rotate_master_key() -> tuple[str, str, int]:
    """Re-wrap every live data key (and every registered secret) under a new master key.

    The new key is written beside the old one first and everything is re-wrapped in one
    transaction with its log entry, so a crash in between leaves either the old state or
    the new one recoverable, never neither; a failure (of a re-wrap or of the entry) rolls
    back and removes the new key. Returns (old id, new id, number of secrets re-wrapped).
    """
    # One rotation at a time on every host; and the key in force is read again under the
    # lock (another host may have rotated since this process loaded it).
    with session_lock(MASTER_LOCK):
        clear_cache()
        return _rotate(current_master_key())


def _rotate(old: MasterKey) -> tuple[str, str, int]:
    new = new_master_key()
    path = master_key_path()
    pending = path.with_name("master.key.new")
    write_master_key(new, pending)
    count = 0
    try:
        # Durable: the outermost transaction. Inside a caller's, the file would be renamed
        # below while the re-wrapped rows could still be rolled back with the caller's
        # work, leaving a master key that unwraps nothing.
        with transaction.atomic(durable=True):
            _bump_generation()
            for row in DataKey.objects.select_for_update(of=("self",), no_key=True).filter(
                destroyed_at__isnull=True
            ):
                key = _unwrap(old, row)
                row.wrapped_key = _wrap(new, row.scope, row.id, key)
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

"""The hash chain of the audit log: appending and verifying (D3).

Each entry's hash covers the previous entry's hash and the entry's own canonical
content, so changing, removing or inserting any entry breaks every later link.
Appends are serialised (PostgreSQL advisory lock; SQLite's IMMEDIATE transactions)
so two writers can never chain onto the same head.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from genchi.core.acting import current_actor

from .models import AuditEntry

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 0x47454E4348  # "GENCH"


def canonical_content(entry: AuditEntry) -> bytes:
    """The exact bytes an entry's hash covers (everything but the hash itself)."""
    body = {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "actor_organisation": entry.actor_organisation,
        "ip": entry.ip,
        "channel": entry.channel,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "contract": entry.contract_code,
        "detail": entry.detail,
        "prev": entry.prev_hash,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(entry: AuditEntry) -> str:
    h = hashlib.sha256()
    h.update(entry.prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(canonical_content(entry))
    return h.hexdigest()


def _normalise_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so the hash covers what the database will return.
    return json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))


def record(
    action: str,
    *,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    contract: Any = None,
    detail: dict[str, Any] | None = None,
    actor=None,
) -> AuditEntry:
    """Append one entry. `actor` defaults to whoever is acting in this context."""
    who = actor or current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    contract_code = contract if isinstance(contract, str) else getattr(contract, "code", "")
    at = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_ID])
        head = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
        entry = AuditEntry(
            seq=(head.seq + 1) if head else 1,
            at=at,
            actor_id=who.user_id,
            actor=who.username,
            actor_organisation=who.organisation_code,
            ip=who.ip,
            channel=who.channel,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            contract_code=contract_code or "",
            detail=_normalise_detail(detail),
            prev_hash=head.entry_hash if head else GENESIS,
        )
        entry.entry_hash = compute_hash(entry)
        entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""


def verify(batch_size: int = 5000) -> VerifyResult:
    """Walk the whole chain; report the first entry that does not hold."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=batch_size):
        if entry.seq != expected_seq:
            return VerifyResult(
                False, count, prev_hash, expected_seq, f"連番 {expected_seq} が欠落しています"
            )
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                False, count, prev_hash, entry.seq, "直前の記録のハッシュと一致しません"
            )
        if compute_hash(entry) != entry.entry_hash:
            return VerifyResult(
                False, count, prev_hash, entry.seq, "記録の内容がハッシュと一致しません(改ざん)"
            )
        prev_hash = entry.entry_hash
        expected_seq += 1
        count += 1
    return VerifyResult(True, count, prev_hash)


def head() -> tuple[int, str]:
    """(entry count, head hash) — printed on handover slips and certificates."""
    last = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
    return (last.seq, last.entry_hash) if last else (0, GENESIS)

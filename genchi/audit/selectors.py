"""Reads of the audit log for other apps' pages (the checklist, the contract history):
entries by contract, by object and the refusals, never the whole log at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from .auditkey import cached_audit_key
from .chain import GENESIS, expected_hash, head, unkeyed_hash
from .models import AuditEntry

REFUSAL_ACTIONS = ("access.denied", "tablet.outside_assignment_refused")
"""Attempts to reach what a person is not assigned to, refused and logged (D2, C-S2.4)."""


def refusals(
    *, contract_code: str, organisation_code: str, since: dt.datetime, until: dt.datetime
) -> QuerySet[AuditEntry]:
    """Refused attempts about the contract, or by people of `organisation_code` (a
    refused page names no contract), between `since` and `until`."""
    return AuditEntry.objects.filter(
        Q(contract_code=contract_code) | Q(contract_code="", actor_organisation=organisation_code),
        action__in=REFUSAL_ACTIONS,
        at__gte=since,
        at__lt=until,
    ).order_by("seq")


def entries_of_contract(contract_code: str) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(contract_code=contract_code).order_by("seq")


def entries_by_object(contract_code: str, pairs: Iterable[tuple[str, str]]) -> dict:
    """The contract's entries about each (object_type, object_id), as {pair: [entries]}."""
    wanted = {(t, str(i)) for t, i in pairs}
    found: dict[tuple[str, str], list[AuditEntry]] = {pair: [] for pair in wanted}
    types = {t for t, _i in wanted}
    for entry in entries_of_contract(contract_code).filter(object_type__in=types):
        key = (entry.object_type, entry.object_id)
        if key in found:
            found[key].append(entry)
    return found


def log_head() -> tuple[int, str]:
    """(entry count, head hash) of the log now."""
    return head()


def broken_links(entries: list[AuditEntry]) -> list[int]:
    """The seqs among `entries` whose own hash does not match their content, or whose
    `prev_hash` is not the hash of the entry before them: a page shows its entries as
    verified links of the chain (the whole chain is the tamper check's job)."""
    if not entries:
        return []
    key = cached_audit_key()
    before = dict(
        AuditEntry.objects.filter(seq__in=[e.seq - 1 for e in entries]).values_list(
            "seq", "entry_hash"
        )
    )
    broken = []
    for entry in entries:
        own = expected_hash(entry, key) if key is not None else unkeyed_hash(entry)
        prev = GENESIS if entry.seq == 1 else before.get(entry.seq - 1)
        if own != entry.entry_hash or prev != entry.prev_hash:
            broken.append(entry.seq)
    return broken

"""Survey batches: up to the contract's maximum of cases, picked by priority, then sealed."""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.core.locks import transaction_lock
from genchi.parties.models import Contract

from ..models import PRIORITIES, Batch, BatchItem, Case

# Rows read per round trip when a priority needs a decrypted value: memory stays bounded
# by this chunk plus the batch's room, whatever the number of eligible cases.
SCAN_CHUNK = 2000


def _notes(text: str) -> dict[str, Any]:
    try:
        notes = json.loads(text) if text else {}
    except ValueError:
        return {}
    return notes if isinstance(notes, dict) else {}


def _number(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _priority_key(priority: str) -> Callable[[Case], Any]:
    # Ties go to the case imported first (ids grow with the import order).
    if priority == "amount_desc":
        return lambda c: (-_number(_notes(c.ward_notes).get("amount_owed"), 0), c.pk)
    if priority == "tax_year_asc":
        return lambda c: (_number(_notes(c.ward_notes).get("tax_year"), 9999), c.pk)
    if priority == "postal_asc":
        return lambda c: (c.postal_code or "9999999", c.pk)
    return lambda c: c.pk


def eligible_cases(contract: Contract) -> QuerySet[Case]:
    """Cases of the contract not yet picked for any batch."""
    return Case.objects.filter(contract=contract, status=Case.Status.IMPORTED).exclude(
        batch_items__isnull=False
    )


def eligible_count(contract: Contract) -> int:
    """How many cases of the contract a batch can still take. A case's status says it
    (picking sets 選定済み, removing and deleting a draft set 取込済み again), so this
    reads the (contract, status) index instead of probing the batch items of each case."""
    return Case.objects.filter(contract=contract, status=Case.Status.IMPORTED).count()


def order_by_priority(cases: Iterable[Case], priority: str) -> list[Case]:
    return sorted(cases, key=_priority_key(priority))


def _best_ids(pool: QuerySet[Case], contract: Contract, priority: str, count: int) -> list[int]:
    """The ids of the `count` best cases of `pool` in the batch's priority order.

    Taking the first cases in the import order is SQL alone. The other priorities rank by
    values kept encrypted (the amount owed, the tax year, the postal code), so the
    database cannot order by them: the needed column is streamed in chunks, decrypted
    row by row, and only the best `count` keys are kept (a heap), so memory is bounded by
    the chunk and the batch's room, never by the number of eligible cases.
    """
    if count <= 0:
        return []
    if priority not in ("amount_desc", "tax_year_asc", "postal_asc"):
        return list(pool.order_by("pk").values_list("pk", flat=True)[:count])
    column = "postal_code" if priority == "postal_asc" else "ward_notes"
    open_for = Case._meta.get_field(column).open_for
    rows = pool.order_by().values_list("pk", "ref", column)

    def fetched() -> Iterator[tuple[int, str, str]]:
        # Straight from the cursor: the ORM's per-row converters cost more than the
        # decryption at 100,000 rows, and these three columns need none.
        try:
            sql, params = rows.query.sql_with_params()
        except EmptyResultSet:  # nothing picked (an empty list of ids)
            return
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(SCAN_CHUNK):
                yield from chunk

    def keys() -> Iterator[tuple]:
        for pk, ref, stored in fetched():
            value = open_for(contract.pk, ref, stored) if stored else ""
            if priority == "postal_asc":
                yield (value or "9999999", pk)
                continue
            notes = _notes(value)
            if priority == "amount_desc":
                yield (-_number(notes.get("amount_owed"), 0), pk)
            else:
                yield (_number(notes.get("tax_year"), 9999), pk)

    return [key[-1] for key in heapq.nsmallest(count, keys())]


@transaction.atomic
def create_batch(
    contract: Contract, *, title: str = "", priority: str = "amount_desc", user=None
) -> Batch:
    if priority not in PRIORITIES:
        raise ValidationError(_("優先順位の基準が正しくありません。"))
    # The contract's series is locked for the transaction (every server, every host):
    # locking the last batch's row would not do, as a second writer waiting on it reads
    # that same row again and takes the same number (and a first batch has no row).
    transaction_lock("intake-batch-number", contract.pk)
    last = Batch.objects.filter(contract=contract).order_by("-number").first()
    batch = Batch.objects.create(
        contract=contract,
        number=(last.number + 1) if last else 1,
        title=title.strip()[:200],
        priority=priority,
        by=user if getattr(user, "is_authenticated", False) else None,
    )
    record(
        "batch.created",
        obj=batch,
        contract=contract,
        detail={"number": batch.number, "priority": priority},
    )
    return batch


def _require_draft(batch: Batch) -> None:
    if batch.status != Batch.Status.DRAFT:
        raise ValidationError(_("封緘済みのバッチは変更できません。"))


@dataclass(frozen=True)
class Added:
    """What adding cases did: how many went in and, when none did, why."""

    count: int
    reason: str = ""


@transaction.atomic
def add_cases(
    batch: Batch, cases: QuerySet[Case] | Iterable[Case], *, limit: int | None = None
) -> int:
    """Add cases (in the batch's priority order) up to the contract's maximum.

    `cases` is a queryset (a condition: it is used as a subquery, never as a list of ids,
    so any number of cases works) or the cases picked by hand."""
    return _add(batch, cases, limit=limit).count


def fill_by_condition(
    batch: Batch,
    *,
    pref: str = "",
    city: str = "",
    min_level: int = 0,
    limit: int | None = None,
) -> Added:
    """Add the contract's eligible cases of an area (and address level), best first;
    when none is added, the reason says why (none there, all taken)."""
    place_cases = Case.objects.filter(contract_id=batch.contract_id)
    if pref:
        place_cases = place_cases.filter(pref=pref)
    if city:
        place_cases = place_cases.filter(city=city)
    area = place_cases.filter(geocode_level__gte=min_level)
    with transaction.atomic():
        added = _add(batch, area, limit=limit)
    if added.count:
        return added
    place = f"{pref}{city}" or _("この契約")
    if area.exists():
        reason = _(
            "%(place)s の案件は、すべて選定済みです(ほかのバッチに入っているか、引渡し済み)。"
        )
    elif place_cases.exists():
        reason = _(
            "%(place)s の案件は、住所が町字まで特定できていません"
            "(住所の判定を「すべて」にするか、住所を修正してください)。"
        )
    else:
        reason = _("%(place)s の案件はありません。")
    return Added(0, reason % {"place": place})


def _add(batch: Batch, cases: QuerySet[Case] | Iterable[Case], *, limit: int | None) -> Added:
    batch = (
        Batch.objects.select_for_update(of=("self",), no_key=True)
        .select_related("contract")
        .get(pk=batch.pk)
    )
    _require_draft(batch)
    contract = batch.contract
    current = batch.items.count()
    room = contract.max_cases - current
    if room <= 0:
        raise ValidationError(
            _("このバッチはすでに上限(%(max)d 件)に達しています。") % {"max": contract.max_cases}
        )
    if isinstance(cases, QuerySet):
        picked = cases.filter(contract=contract).values("pk")
    else:
        picked = [c.pk for c in cases if c.contract_id == contract.pk]
    pool = eligible_cases(contract).filter(pk__in=picked)
    count = room if limit is None else min(room, max(limit, 0))
    chosen = _best_ids(pool, contract, batch.priority, count)
    last = batch.items.order_by("-position").first()
    start = (last.position if last else 0) + 1
    BatchItem.objects.bulk_create(
        [BatchItem(batch=batch, case_id=pk, position=start + i) for i, pk in enumerate(chosen)],
        batch_size=500,
    )
    # Through the batch, not a list of ids: no query grows with the batch.
    Case.objects.filter(batch_items__batch=batch, status=Case.Status.IMPORTED).update(
        status=Case.Status.IN_BATCH
    )
    if chosen:
        record(
            "batch.cases_added",
            obj=batch,
            contract=contract,
            detail={"added": len(chosen), "total": current + len(chosen)},
        )
    return Added(len(chosen))


@transaction.atomic
def remove_cases(batch: Batch, case_ids: Iterable[int]) -> int:
    batch = Batch.objects.select_for_update(of=("self",), no_key=True).get(pk=batch.pk)
    _require_draft(batch)
    ids = list(batch.items.filter(case_id__in=list(case_ids)).values_list("case_id", flat=True))
    batch.items.filter(case_id__in=ids).delete()
    Case.objects.filter(pk__in=ids).update(status=Case.Status.IMPORTED)
    # Keep positions dense: 1..n in the order they were.
    for position, item in enumerate(batch.items.order_by("position"), start=1):
        if item.position != position:
            BatchItem.objects.filter(pk=item.pk).update(position=position)
    if ids:
        record(
            "batch.cases_removed", obj=batch, contract=batch.contract, detail={"removed": len(ids)}
        )
    return len(ids)


@transaction.atomic
def seal_batch(batch: Batch, *, user=None) -> Batch:
    """draft → sealed: frozen and ready for the handover package."""
    batch = (
        Batch.objects.select_for_update(of=("self",), no_key=True)
        .select_related("contract")
        .get(pk=batch.pk)
    )
    _require_draft(batch)
    count = batch.items.count()
    if count == 0:
        raise ValidationError(_("案件のないバッチは封緘できません。"))
    if count > batch.contract.max_cases:
        raise ValidationError(
            _("件数が契約の上限(%(max)d 件)を超えています。") % {"max": batch.contract.max_cases}
        )
    batch.status = Batch.Status.SEALED
    batch.sealed_at = timezone.now()
    batch.sealed_by = user if getattr(user, "is_authenticated", False) else None
    batch.save(update_fields=["status", "sealed_at", "sealed_by"])
    record(
        "batch.sealed",
        obj=batch,
        contract=batch.contract,
        detail={"number": batch.number, "cases": count},
    )
    return batch


@transaction.atomic
def delete_batch(batch: Batch) -> None:
    batch = Batch.objects.select_for_update(of=("self",), no_key=True).get(pk=batch.pk)
    _require_draft(batch)
    ids = list(batch.items.values_list("case_id", flat=True))
    Case.objects.filter(pk__in=ids).update(status=Case.Status.IMPORTED)
    record("batch.deleted", obj=batch, contract=batch.contract, detail={"number": batch.number})
    batch.delete()

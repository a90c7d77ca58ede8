"""Survey batches: up to the contract's maximum of cases, picked by priority, then sealed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.parties.models import Contract

from ..models import Batch, BatchItem, Case

PRIORITIES: dict[str, str] = {
    "amount_desc": "滞納額の多い順",
    "tax_year_asc": "課税年度の古い順",
    "imported_asc": "取込の古い順",
    "postal_asc": "郵便番号順(地域ごと)",
}


def _priority_key(priority: str) -> Callable[[Case], Any]:
    def notes(case: Case) -> dict[str, Any]:
        try:
            return json.loads(case.ward_notes) if case.ward_notes else {}
        except ValueError:
            return {}

    if priority == "amount_desc":
        return lambda c: (-(notes(c).get("amount_owed") or 0), c.created_at, c.pk)
    if priority == "tax_year_asc":
        return lambda c: (notes(c).get("tax_year") or 9999, c.created_at, c.pk)
    if priority == "postal_asc":
        return lambda c: (c.postal_code or "9999999", c.pk)
    return lambda c: (c.created_at, c.pk)


def eligible_cases(contract: Contract):
    """Cases of the contract not yet picked for any batch."""
    return Case.objects.filter(contract=contract, status=Case.Status.IMPORTED).exclude(
        batch_items__isnull=False
    )


def order_by_priority(cases: Iterable[Case], priority: str) -> list[Case]:
    return sorted(cases, key=_priority_key(priority))


@transaction.atomic
def create_batch(
    contract: Contract, *, title: str = "", priority: str = "amount_desc", user=None
) -> Batch:
    if priority not in PRIORITIES:
        raise ValidationError(_("優先順位の基準が正しくありません。"))
    last = Batch.objects.select_for_update().filter(contract=contract).order_by("-number").first()
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


@transaction.atomic
def add_cases(batch: Batch, cases: Iterable[Case], *, limit: int | None = None) -> int:
    """Add cases (in the batch's priority order) up to the contract's maximum."""
    batch = Batch.objects.select_for_update().select_related("contract").get(pk=batch.pk)
    _require_draft(batch)
    contract = batch.contract
    current = batch.items.count()
    room = contract.max_cases - current
    wanted = [c for c in cases if c.contract_id == contract.pk]
    eligible_ids = set(
        eligible_cases(contract).filter(pk__in=[c.pk for c in wanted]).values_list("pk", flat=True)
    )
    chosen = order_by_priority([c for c in wanted if c.pk in eligible_ids], batch.priority)
    if limit is not None:
        chosen = chosen[: max(limit, 0)]
    if len(chosen) > room:
        if room <= 0:
            raise ValidationError(
                _("このバッチはすでに上限(%(max)d 件)に達しています。")
                % {"max": contract.max_cases}
            )
        chosen = chosen[:room]
    last = batch.items.order_by("-position").first()
    start = (last.position if last else 0) + 1
    BatchItem.objects.bulk_create(
        [BatchItem(batch=batch, case=c, position=start + i) for i, c in enumerate(chosen)]
    )
    Case.objects.filter(pk__in=[c.pk for c in chosen]).update(status=Case.Status.IN_BATCH)
    if chosen:
        record(
            "batch.cases_added",
            obj=batch,
            contract=contract,
            detail={"added": len(chosen), "total": current + len(chosen)},
        )
    return len(chosen)


@transaction.atomic
def remove_cases(batch: Batch, case_ids: Iterable[int]) -> int:
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
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
    batch = Batch.objects.select_for_update().select_related("contract").get(pk=batch.pk)
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
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    _require_draft(batch)
    ids = list(batch.items.values_list("case_id", flat=True))
    Case.objects.filter(pk__in=ids).update(status=Case.Status.IMPORTED)
    record("batch.deleted", obj=batch, contract=batch.contract, detail={"number": batch.number})
    batch.delete()

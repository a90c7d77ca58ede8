"""Reads of the intake, always scoped through genchi.access (D2).

Only ward people see intake data in this phase: the contractor sees cases only after
importing a handover package. Every read that shows personal data is logged by the
caller through `log_case_view` / `log_case_list_view` (D3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from genchi.access.roles import WARD_READERS, has_role
from genchi.audit.chain import record
from genchi.geo import prefecture_code
from genchi.parties.models import Contract
from genchi.parties.selectors import contracts_for

from . import search
from .models import Batch, Case, ImportRun, MappingPreset


def intake_contracts_for(user) -> QuerySet[Contract]:
    if not has_role(user, WARD_READERS):
        return Contract.objects.none()
    return contracts_for(user).select_related("ward", "contractor")


def cases_for(user, contract: Contract | None = None) -> QuerySet[Case]:
    contracts = intake_contracts_for(user)
    qs = Case.objects.filter(contract__in=contracts)
    if contract is not None:
        qs = qs.filter(contract=contract)
    return qs.select_related("contract")


def contract_cases(contract: Contract) -> QuerySet[Case]:
    """All the cases of a contract the caller already holds (e.g. a batch's)."""
    return Case.objects.filter(contract=contract)


def case_for(user, ref: str) -> Case:
    case = cases_for(user).select_related("contract__ward").filter(ref=ref).first()
    if case is None:
        raise Http404("案件が見つかりません")
    return case


def filter_cases(
    qs: QuerySet[Case],
    *,
    status: str = "",
    pref: str = "",
    city: str = "",
    level: str = "",
) -> QuerySet[Case]:
    if status:
        qs = qs.filter(status=status)
    if pref:
        qs = qs.filter(pref=pref)
    if city:
        qs = qs.filter(city=city)
    if level != "" and level is not None:
        if str(level) == "low":
            qs = qs.filter(geocode_level__lt=3)
        else:
            qs = qs.filter(geocode_level=int(level))
    return qs


_HEX = re.compile(r"[0-9a-f]{4,32}")
MAX_SEARCH_HITS = 1000


def search_cases(qs: QuerySet[Case], text: str, contract_ids: Iterable[int]) -> QuerySet[Case]:
    """Cases whose full name or taxpayer number is exactly `text` (compared by their keyed
    hashes, genchi.intake.search), or whose reference starts with it (4 hex digits or more,
    dashes ignored: 「7741-0012」)."""
    text = text.strip()
    if not text:
        return qs
    match = Q()
    for contract_id in contract_ids:
        keys = Q()
        if name := search.name_key(contract_id, text):
            keys |= Q(name_key=name)
        if number := search.taxpayer_key(contract_id, text):
            keys |= Q(taxpayer_key=number)
        if keys:
            match |= Q(contract_id=contract_id) & keys
    ref = search.taxpayer_text(text).lower()
    if _HEX.fullmatch(ref):
        # A range, not LIKE: SQLite's LIKE ignores case and so cannot use the index.
        match |= Q(ref__gte=ref, ref__lt=ref + "g")
    if not match:
        return qs.none()
    # The matches first, each term through its own index (a few ids: an exact name or
    # number, or a reference prefix); combined with the other filters the planner would
    # otherwise walk the whole contract.
    ids = list(Case.objects.filter(match).values_list("pk", flat=True)[:MAX_SEARCH_HITS])
    return qs.filter(pk__in=ids)


@dataclass(frozen=True)
class Facets:
    """The filter lists: each prefecture once in JIS order (北海道 … 沖縄県), and the
    cities of each prefecture once, by name."""

    cities_by_pref: dict[str, list[str]]

    @property
    def prefs(self) -> list[str]:
        return list(self.cities_by_pref)


def facet_values(qs: QuerySet[Case]) -> Facets:
    """Distinct (prefecture, city) pairs of the cases, in one query.

    `Meta.ordering` would add `id` to the SELECT DISTINCT and make every row distinct, so
    the ordering is cleared first; the (contract, pref, city) index answers it alone."""
    # With the contract first, SQLite skips through the (contract, pref, city) index.
    rows = qs.order_by().values_list("contract_id", "pref", "city").distinct()
    by_pref: dict[str, set[str]] = {}
    for _contract, pref, city in rows:
        if pref:
            cities = by_pref.setdefault(pref, set())
            if city:
                cities.add(city)
    ordered = sorted(by_pref, key=lambda p: (prefecture_code(p), p))
    return Facets({p: sorted(by_pref[p]) for p in ordered})


@dataclass(frozen=True)
class KeysetPage:
    """One page of a list ordered by id, found from the id next to it (no OFFSET: a deep
    page costs what the first does)."""

    items: list
    next_after: int | None  # the id after which the next page starts
    previous_before: int | None  # the id before which the previous page ends


def keyset_page(
    qs: QuerySet, *, size: int, after: int | None = None, before: int | None = None
) -> KeysetPage:
    if before is not None:
        items = list(qs.filter(pk__lt=before).order_by("-pk")[: size + 1])
        more_before = len(items) > size
        items = items[:size][::-1]
        more_after = True
    else:
        start = qs.filter(pk__gt=after) if after is not None else qs
        items = list(start.order_by("pk")[: size + 1])
        more_after = len(items) > size
        items = items[:size]
        more_before = after is not None and qs.filter(pk__lte=after).exists()
    if not items:
        return KeysetPage([], None, None)
    return KeysetPage(
        items,
        next_after=items[-1].pk if more_after else None,
        previous_before=items[0].pk if more_before else None,
    )


def log_case_view(case: Case, *, reason: str = "detail") -> None:
    record(
        "case.viewed",
        obj=case,
        contract=case.contract,
        detail={"ref": case.ref, "view": reason},
    )


def log_case_list_view(cases: list[Case], contract_codes: set[str], *, view: str) -> None:
    if not cases:
        return
    record(
        "case.list_viewed",
        object_type="intake.case",
        contract=next(iter(contract_codes)) if len(contract_codes) == 1 else "",
        detail={"view": view, "count": len(cases), "refs": [c.ref for c in cases]},
    )


def import_runs_for(user) -> QuerySet[ImportRun]:
    return ImportRun.objects.filter(contract__in=intake_contracts_for(user)).select_related(
        "contract__ward", "by"
    )


def import_run_for(user, run_id: int) -> ImportRun:
    run = import_runs_for(user).filter(pk=run_id).first()
    if run is None:
        raise Http404("取込が見つかりません")
    return run


def presets_for(user) -> QuerySet[MappingPreset]:
    if not has_role(user, WARD_READERS):
        return MappingPreset.objects.none()
    return MappingPreset.objects.filter(organisation_id=user.organisation_id)


def batches_for(user) -> QuerySet[Batch]:
    return (
        Batch.objects.filter(contract__in=intake_contracts_for(user))
        .select_related("contract", "by", "sealed_by")
        .annotate(case_count=Count("items"))
    )


def batch_for(user, batch_id: int) -> Batch:
    batch = batches_for(user).filter(pk=batch_id).first()
    if batch is None:
        raise Http404("バッチが見つかりません")
    return batch


def batch_summaries(qs: QuerySet[Batch]) -> list[dict]:
    """What `genchi batch list --json` prints (no personal data)."""
    out = []
    for b in (
        qs.select_related("contract")
        .annotate(n=Count("items"))
        .order_by("contract__code", "number")
    ):
        out.append(
            {
                "contract": b.contract.code,
                "number": b.number,
                "label": str(b),
                "title": b.title,
                "status": b.status,
                "cases": b.n,
                "max_cases": b.contract.max_cases,
                "priority": b.priority,
                "created_at": b.created_at.isoformat(),
                "sealed_at": b.sealed_at.isoformat() if b.sealed_at else None,
            }
        )
    return out


@dataclass(frozen=True)
class SentCase:
    """A case as the ward sent it in a batch: what results are reconciled against."""

    pk: int
    ref: str
    pref: str


def sent_cases(contract: Contract, batch_code: str) -> dict[str, SentCase]:
    """The cases of the batch `batch_code` (e.g. "B3") of `contract`, by the `case_ref`
    their package carried; {} when there is no such batch."""
    number = batch_code[1:] if batch_code.startswith("B") else ""
    if not number.isdigit():
        return {}
    batch = Batch.objects.filter(contract=contract, number=int(number)).first()
    if batch is None:
        return {}
    rows = Case.objects.filter(batch_items__batch=batch).values_list("pk", "ref", "pref")
    return {ref: SentCase(pk, ref, pref) for pk, ref, pref in rows}


def taxpayer_numbers(contract: Contract, case_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """(reference, 宛名番号) of these cases, decrypted: for the export to the tax system."""
    rows = Case.objects.filter(contract=contract, pk__in=list(case_ids)).only(
        "pk", "ref", "contract_id", "taxpayer_no"
    )
    return {c.pk: (c.ref, c.taxpayer_no or "") for c in rows}


def handed_over_count(contract: Contract) -> int:
    """Cases of the contract that went to the contractor (results back or not)."""
    return Case.objects.filter(
        contract=contract,
        status__in=(Case.Status.HANDED_OVER, Case.Status.RESULT_RECEIVED, Case.Status.CLOSED),
    ).count()

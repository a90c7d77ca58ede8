"""Reads of the intake, always scoped through genchi.access (D2).

Only ward people see intake data in this phase: the contractor sees cases only after
importing a handover package. Every read that shows personal data is logged by the
caller through `log_case_view` / `log_case_list_view` (D3).
"""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404

from genchi.access.roles import WARD_READERS, has_role
from genchi.audit.chain import record
from genchi.parties.models import Contract
from genchi.parties.selectors import contracts_for

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


def facet_values(qs: QuerySet[Case]) -> dict[str, list[str]]:
    """Distinct prefectures and cities (clear columns) for the filter lists."""
    prefs = sorted(p for p in qs.values_list("pref", flat=True).distinct() if p)
    cities = sorted(c for c in qs.values_list("city", flat=True).distinct() if c)
    return {"prefs": prefs, "cities": cities}


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

"""Scoped reads of received cases (D2).

The manager and handlers designated on a contract (office work) read all its cases; a
surveyor designated on it reads only the cases assigned to them (C-S2.4). Everyone else
reads none. Views never build case querysets themselves; each view of personal data is
logged through `log_case_view` / `log_case_list_view` (D3).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import CONTRACTOR_OFFICE, has_role
from genchi.audit.chain import record
from genchi.core.outcomes import Outcome
from genchi.core.roles import Role
from genchi.parties.models import Contract, Designation
from genchi.parties.selectors import (
    active_designations,
    does_office_work_on,
    office_contracts_for,
)

from .addresses import name_key
from .models import Review, SurveyCase, Visit, VisitPhoto

SURVEYOR_ROLES = frozenset({Role.SURVEYOR})


def can_read_cases(user, contract: Contract) -> bool:
    return does_office_work_on(user, contract)


def surveyor_contracts_for(user) -> QuerySet[Contract]:
    """Contracts a surveyor is designated on as surveyor now (none for anyone else)."""
    if not has_role(user, SURVEYOR_ROLES):
        return Contract.objects.none()
    designated = active_designations(user).filter(role=Designation.Role.SURVEYOR)
    return Contract.objects.filter(
        contractor_id=user.organisation_id, pk__in=designated.values("contract_id")
    )


def case_contracts_for(user) -> QuerySet[Contract]:
    """Contracts whose received cases this person sees any of."""
    if has_role(user, CONTRACTOR_OFFICE):
        return office_contracts_for(user)
    return surveyor_contracts_for(user)


def survey_cases_for(user, contract: Contract | None = None) -> QuerySet[SurveyCase]:
    """Received cases this person may read: all of their office contracts' cases, or a
    surveyor's own assigned cases (C-S2.4); none for anyone else."""
    if has_role(user, CONTRACTOR_OFFICE):
        qs = SurveyCase.objects.filter(contract__in=office_contracts_for(user))
    elif has_role(user, SURVEYOR_ROLES):
        qs = SurveyCase.objects.filter(contract__in=surveyor_contracts_for(user), surveyor=user)
    else:
        return SurveyCase.objects.none()
    if contract is not None:
        qs = qs.filter(contract=contract)
    return qs


def known_refs(contract: Contract, refs: list[str]) -> set[str]:
    """Which of these references are cases received for the contract (no personal data):
    an incident package from the ward is checked with it."""
    return set(
        SurveyCase.objects.filter(contract=contract, case_ref__in=refs).values_list(
            "case_ref", flat=True
        )
    )


def case_for(user, code: str, ref: str) -> SurveyCase:
    """One case by contract code and reference, or 404 — the same whether it exists or
    is only outside this person's scope."""
    case = (
        survey_cases_for(user)
        .filter(contract__code=code, case_ref=ref)
        .select_related("contract__ward", "received_in", "surveyor")
        .first()
    )
    if case is None:
        raise Http404("案件が見つかりません")
    return case


def filter_cases(
    qs: QuerySet[SurveyCase],
    *,
    contracts: list[Contract],
    contract: str = "",
    pref: str = "",
    city: str = "",
    status: str = "",
    surveyor: str = "",
    q: str = "",
) -> QuerySet[SurveyCase]:
    if contract:
        qs = qs.filter(contract__code=contract)
    if pref:
        qs = qs.filter(pref=pref)
    if city:
        qs = qs.filter(city=city)
    if status:
        qs = qs.filter(status=status)
    if surveyor == "none":
        qs = qs.filter(surveyor__isnull=True)
    elif surveyor.isdigit():
        qs = qs.filter(surveyor_id=int(surveyor))
    q = q.strip()
    if q:
        # A reference by its start; a name only exactly, through its keyed hash per
        # contract (names are encrypted: there is no clear column to search).
        keys = [k for k in (name_key(c, q) for c in contracts) if k]
        qs = qs.filter(Q(case_ref__startswith=q) | Q(name_index__in=keys))
    return qs


def facet_values(qs: QuerySet[SurveyCase]) -> dict[str, list]:
    """Prefectures (JIS code order) and cities of the visible cases, each once."""
    prefs: list[str] = []
    cities: list[str] = []
    for _code, pref, city in (
        qs.order_by()
        .values_list("pref_code", "pref", "city")
        .distinct()
        .order_by("pref_code", "city")
    ):
        if pref and pref not in prefs:
            prefs.append(pref)
        if city and city not in cities:
            cities.append(city)
    return {"prefs": prefs, "cities": cities}


def surveyor_options(user) -> list:
    """The surveyors designated now on this person's office contracts, each once."""
    if not has_role(user, CONTRACTOR_OFFICE):
        return []
    ids = Designation.objects.filter(
        contract__in=office_contracts_for(user),
        role=Designation.Role.SURVEYOR,
        starts_on__lte=timezone.localdate(),
        ended_at__isnull=True,
    ).values("person_id")
    return list(get_user_model().objects.filter(pk__in=ids).order_by("username"))


def log_case_view(case: SurveyCase) -> None:
    record(
        "survey_case.viewed",
        obj=case,
        contract=case.contract,
        detail={"ref": case.case_ref, "view": "detail"},
    )


def log_case_views_on_tablet(
    contract: Contract, opened: list[tuple[str, dt.datetime]], *, device: int, actor
) -> None:
    """Cases opened on a tablet, offline, as the device reports them at its sync: one
    `survey_case.viewed` entry each (view `tablet`), with the moment it was opened."""
    refs = {ref for ref, _at in opened}
    cases = {c.case_ref: c for c in SurveyCase.objects.filter(contract=contract, case_ref__in=refs)}
    with transaction.atomic():  # all of them or none: the device sends them again
        for ref, at in opened:
            case = cases.get(ref)
            record(
                "survey_case.viewed",
                obj=case,
                object_type="fieldwork.surveycase",  # also when the case is gone (erased)
                contract=contract,
                detail={
                    "ref": ref,
                    "view": "tablet",
                    "opened_at": at.isoformat(),
                    "device": device,
                },
                actor=actor,
            )


def log_case_list_view(cases: list[SurveyCase], *, view: str = "case_list") -> None:
    if not cases:
        return
    codes = {c.contract.code for c in cases}
    record(
        "survey_case.list_viewed",
        object_type="fieldwork.surveycase",
        contract=next(iter(codes)) if len(codes) == 1 else "",
        detail={"view": view, "count": len(cases), "refs": [c.case_ref for c in cases]},
    )


# Cases the office may still give to a surveyor: not yet out in the field.
PLANNABLE = (SurveyCase.Status.RECEIVED, SurveyCase.Status.ASSIGNED)


def cases_for_planning(user, contract: Contract, *, view: str) -> list[dict]:
    """The contract's cases not yet out in the field, as plain data for the area planner
    (`genchi.planner`): ref, lat/lng (floats, None without a position), pref, city, town,
    geocode_level, surveyor_id, status. Office people of the contract only (empty for
    anyone else). Reading them is a view of personal data and is logged as such (`view`
    names the page or action)."""
    if user is None or not can_read_cases(user, contract):
        return []
    opened = _opener(contract.pk)
    # Values, not instances: 500 cases in a few milliseconds (bench/areas.py).
    out = [
        {
            "ref": ref,
            "lat": _coordinate(opened("lat", ref, lat)),
            "lng": _coordinate(opened("lng", ref, lng)),
            "pref": pref,
            "city": city,
            "town": opened("town", ref, town),
            "geocode_level": level,
            "surveyor_id": surveyor_id,
            "status": status,
        }
        for ref, lat, lng, pref, city, town, level, surveyor_id, status in (
            SurveyCase.objects.filter(contract=contract, status__in=PLANNABLE)
            .order_by("pref_code", "city", "id")
            .values_list(
                "case_ref",
                "lat",
                "lng",
                "pref",
                "city",
                "town",
                "geocode_level",
                "surveyor_id",
                "status",
            )
        )
    ]
    if out:
        record(
            "survey_case.list_viewed",
            object_type="fieldwork.surveycase",
            contract=contract,
            detail={"view": view, "count": len(out), "refs": [c["ref"] for c in out]},
        )
    return out


def _opener(contract_id: int):
    """Decrypts one encrypted column's value of a row read by `values_list`."""
    fields = {name: SurveyCase._meta.get_field(name).open_for for name in ("lat", "lng", "town")}

    def opened(name: str, ref: str, stored: str | None) -> str:
        return fields[name](contract_id, ref, stored) if stored else ""

    return opened


def case_points(qs: QuerySet[SurveyCase], limit: int) -> list[tuple]:
    """(contract id, contract code, ref, lat, lng, surveyor id, surveyor name) of the
    first `limit` cases of `qs`, for a map: values, not instances."""
    out = []
    openers: dict[int, object] = {}
    for contract_id, code, ref, lat, lng, surveyor_id, full_name, username in qs.order_by(
        "contract_id", "id"
    ).values_list(
        "contract_id",
        "contract__code",
        "case_ref",
        "lat",
        "lng",
        "surveyor_id",
        "surveyor__full_name",
        "surveyor__username",
    )[:limit]:
        if contract_id not in openers:
            openers[contract_id] = _opener(contract_id)
        opened = openers[contract_id]
        out.append(
            (
                contract_id,
                code,
                ref,
                opened("lat", ref, lat),
                opened("lng", ref, lng),
                surveyor_id,
                full_name or username or "",
            )
        )
    return out


def _coordinate(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def log_case_points_view(points: list[tuple], *, view: str) -> None:
    """Log the showing of `case_points` (as `log_case_list_view` does for instances)."""
    if not points:
        return
    codes = {p[1] for p in points}
    record(
        "survey_case.list_viewed",
        object_type="fieldwork.surveycase",
        contract=next(iter(codes)) if len(codes) == 1 else "",
        detail={"view": view, "count": len(points), "refs": [p[2] for p in points]},
    )


def received_counts(user) -> dict[int, int]:
    """Number of received cases per visible contract (no personal data read)."""
    if not has_role(user, CONTRACTOR_OFFICE):
        return {}
    contracts = office_contracts_for(user).annotate(n=Count("survey_cases"))
    return dict(contracts.values_list("pk", "n"))


def cases_for_tablet(surveyor, contract: Contract) -> QuerySet[SurveyCase]:
    """The cases a surveyor's tablet may carry (C-S2.4): those assigned to this surveyor
    on this contract and still to be visited, while they hold the surveyor role and are
    designated on the contract as surveyor; none otherwise, whatever their other roles."""
    if not has_role(surveyor, SURVEYOR_ROLES):
        return SurveyCase.objects.none()
    if not surveyor_contracts_for(surveyor).filter(pk=contract.pk).exists():
        return SurveyCase.objects.none()
    return (
        SurveyCase.objects.filter(
            contract=contract,
            surveyor=surveyor,
            status__in=[SurveyCase.Status.ASSIGNED, SurveyCase.Status.VISITED],
        )
        .select_related("contract")
        .order_by("pref_code", "city", "id")
    )


# --- Visits, photos, outcomes (issue 15) --------------------------------------------------


def visits_of(case: SurveyCase) -> list[Visit]:
    """A case's visits, oldest first, with their photos; the caller has scoped the case
    and logs the showing (the case page does)."""
    return list(
        Visit.objects.filter(case=case)
        .select_related("surveyor", "by")
        .prefetch_related("photos")
        .order_by("number")
    )


def landlord_of(visits: list[Visit]) -> tuple[str, str]:
    """The landlord or management company last noted on the case's visits."""
    for visit in reversed(visits):
        if visit.landlord_name or visit.landlord_phone:
            return visit.landlord_name, visit.landlord_phone
    return "", ""


def photo_for(user, photo_id: int) -> VisitPhoto:
    """A photo of a case this person may read, or 404 (the same whether it exists)."""
    photo = (
        VisitPhoto.objects.filter(pk=photo_id, case__in=survey_cases_for(user))
        .select_related("case", "contract")
        .first()
    )
    if photo is None:
        raise Http404("写真が見つかりません")
    return photo


def log_photo_view(photo: VisitPhoto) -> None:
    record(
        "visit_photo.viewed",
        obj=photo,
        contract=photo.contract,
        detail={"ref": photo.case.case_ref, "visit": photo.visit_id},
    )


def progress(user, contract: Contract) -> dict:
    """The manager's view of a contract's survey: cases by surveyor, by area (prefecture
    and city) and by outcome, with the days left in the survey period. Counts only: no
    personal data is read."""
    qs = survey_cases_for(user, contract).order_by()
    done = Q(status__in=[SurveyCase.Status.DONE, SurveyCase.Status.REPORTED])
    visited = Q(visit_count__gt=0)
    counts = {
        "total": Count("id"),
        "visited": Count("id", filter=visited),
        "pending": Count("id", filter=Q(review=Review.PENDING)),
        "done": Count("id", filter=done),
        "revisit": Count("id", filter=Q(needs_revisit=True)),
    }
    names = {p.pk: str(p) for p in get_user_model().objects.filter(pk__in=qs.values("surveyor_id"))}
    by_surveyor = [
        {**row, "name": names.get(row["surveyor_id"], "")}
        for row in qs.values("surveyor_id").annotate(**counts).order_by("surveyor_id")
    ]
    by_area = list(qs.values("pref", "city").annotate(**counts).order_by("pref", "city"))
    outcome_counts = dict(qs.values_list("outcome").annotate(n=Count("id")).order_by())
    by_outcome = [
        {"value": value, "label": label, "n": outcome_counts.get(value, 0)}
        for value, label in [("", _("未判定")), *Outcome.choices]
    ]
    today = timezone.localdate()
    return {
        "totals": qs.aggregate(**counts),
        "by_surveyor": by_surveyor,
        "by_area": by_area,
        "by_outcome": by_outcome,
        "days_left": max((contract.ends_on - today).days, 0),
        "ends_on": contract.ends_on,
    }


def visit_counts(contract: Contract, since, until) -> dict:
    """Visits of the contract between two moments (the handling report, S14): how many,
    on how many cases, by how many surveyors. Counts only, no personal data."""
    visits = Visit.objects.filter(contract=contract, visited_at__gte=since, visited_at__lt=until)
    return {
        "visits": visits.count(),
        "cases": visits.values("case_id").distinct().count(),
        "surveyors": visits.values("surveyor_id").distinct().count(),
    }

"""Bases and area proposals (C-S2.4): the writes behind the office's area pages.

- `set_base`: the office base of a contract, or a surveyor's own (home station), from an
  address read by the address engine (`genchi.geo`) or from latitude and longitude.
- `propose`: builds a planning instance (docs/planning.md) from the contract's received
  cases that have a position below prefecture level and the designated surveyors who
  pass the gate (`parties.selectors.may_work_on`), each from their base (the office when
  they have none), calls `genchi.planning.propose_areas` and stores the proposal.
- `move_cases` / `move_town` / `move_trip`: the manager's changes to a draft, each logged with its
  before and after.
- `confirm`: assigns every case of the draft to its surveyor through
  `fieldwork.services.assign_cases` (the gate again), all or nothing, logged.

Cases are read only through `fieldwork.selectors.cases_for_planning` (logged as a view
of personal data); the planner stores case references only, never a taxpayer's data.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.fieldwork import selectors as cases
from genchi.fieldwork import services as fieldwork
from genchi.geo import normalize
from genchi.parties.models import Contract
from genchi.parties.selectors import (
    designated_surveyors,
    does_office_work_on,
    is_designated_surveyor,
    may_work_on,
    surveyor_designation_dates,
)
from genchi.planning import InstanceError, parse_instance, propose_areas

from .campaigns import calendar, surveyor_days
from .models import AreaProposal, AreaProposalCase, Campaign, SurveyorBase

# Japan and its islands, roughly: a point outside is a typo (swapped or mistyped degrees).
JAPAN_LAT = (20.0, 46.0)
JAPAN_LNG = (122.0, 154.0)

# The planning instance's fixed parts (docs/planning.md). The working days are each
# surveyor's real ones in the campaign period (`working_days`); `days` is used only when
# a test or a caller builds an instance without them.
DEFAULT_PARAMS = {
    "visit_minutes": 20,
    "expected_revisits": 0.5,
    "trip_after_minutes": 150,
    "speed_kmh": 20.0,
    "detour_factor": 1.3,
    "days": 20,
    "start": "09:00",
    "end": "18:00",
    "max_visits_per_day": 12,
    "seconds": 5.0,
}


def _require_office(contract: Contract, by) -> None:
    if by is None or not does_office_work_on(by, contract):
        raise PermissionDenied(_("この契約の担当地域を扱う権限がありません。"))


def placed(case: dict) -> bool:
    """A case the planner can place: read below prefecture level, with a position."""
    return case["geocode_level"] >= 2 and case["lat"] is not None and case["lng"] is not None


def flag_reason(case: dict) -> str:
    if case["geocode_level"] == 0:
        return _("住所を判定できませんでした。")
    if case["geocode_level"] == 1:
        return _("住所が都道府県までしか判定できませんでした。")
    return _("位置(緯度経度)がありません。")


# --- Bases ----------------------------------------------------------------------------


@transaction.atomic
def set_base(
    contract: Contract,
    person,
    *,
    label: str,
    kind: str,
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    by,
) -> SurveyorBase:
    """Set the office base (`person` None) or a designated surveyor's own base. Errors
    are ValidationErrors keyed by the form's fields (`address`, `lat`, `lng`, `person`)."""
    _require_office(contract, by)
    if person is not None and not is_designated_surveyor(person, contract):
        raise ValidationError(
            {
                "person": _("%(person)s はこの契約の調査員に指定されていません。")
                % {"person": person}
            }
        )
    address = (address or "").strip()
    if address:
        result = normalize(address)
        if result.level < 2 or result.lat is None:
            raise ValidationError(
                {
                    "address": _(
                        "この住所は市区町村まで判定できませんでした。"
                        "都道府県から書き直すか、緯度と経度を入力してください。"
                    )
                }
            )
        lat, lng = result.lat, result.lng
        label = label or f"{result.pref}{result.city}{result.town}"
    else:
        errors = {}
        if lat is None:
            errors["lat"] = _("緯度を入力してください(または住所)。")
        elif not JAPAN_LAT[0] <= lat <= JAPAN_LAT[1]:
            errors["lat"] = _("緯度は日本国内(北緯20〜46度)の値を入力してください。")
        if lng is None:
            errors["lng"] = _("経度を入力してください(または住所)。")
        elif not JAPAN_LNG[0] <= lng <= JAPAN_LNG[1]:
            errors["lng"] = _("経度は日本国内(東経122〜154度)の値を入力してください。")
        if errors:
            raise ValidationError(errors)
    if not label:
        raise ValidationError({"label": _("名称を入力してください。")})
    base = (
        SurveyorBase.objects.select_for_update(of=("self",), no_key=True)
        .filter(contract=contract, person=person)
        .order_by("pk")
        .first()
    )
    before = None
    if base is None:
        base = SurveyorBase(contract=contract, person=person)
    else:
        before = {
            "label": base.label,
            "kind": base.kind,
            "lat": str(base.lat),
            "lng": str(base.lng),
        }
    base.label = label[:100]
    base.kind = kind
    base.lat = Decimal(f"{lat:.6f}")
    base.lng = Decimal(f"{lng:.6f}")
    base.by = by
    base.updated_at = timezone.now()
    base.save()
    record(
        "planner.base_set",
        obj=base,
        contract=contract,
        detail={
            "person": person.username if person is not None else None,
            "before": before,
            "after": {
                "label": base.label,
                "kind": base.kind,
                "lat": str(base.lat),
                "lng": str(base.lng),
            },
            "by_address": bool(address),
        },
    )
    return base


# --- Proposals ------------------------------------------------------------------------


def eligible_surveyors(contract: Contract) -> tuple[list, dict]:
    """(surveyors who may be given cases, {surveyor: reasons} of those who may not)."""
    ok, refused = [], {}
    for person in designated_surveyors(contract):
        reasons = may_work_on(person, contract)
        if reasons:
            refused[person] = reasons
        else:
            ok.append(person)
    return ok, refused


def base_of(person, bases: dict) -> SurveyorBase | None:
    return bases.get(person.pk) or bases.get(None)


def working_days(contract: Contract, surveyors: list, today=None) -> dict[int, list[int]]:
    """Each surveyor's working days in the campaign period (person id → day numbers):
    the campaign's weekdays less the skipped national holidays (祝日, `jpholiday`), from
    the later of today and the date their designation started. The workload of the
    proposal is balanced on these. A period already over counts in full (the proposal
    only weighs the surveyors against each other)."""
    campaign = Campaign.objects.filter(contract=contract).first() or Campaign(
        contract=contract, starts_on=contract.starts_on, ends_on=contract.ends_on
    )
    cal = calendar(campaign)
    if not cal.days:
        raise ValidationError(_("調査期間に稼働日がありません。曜日と期間を確かめてください。"))
    today = today or timezone.localdate()
    starts = surveyor_designation_dates(contract)
    days = {p.pk: surveyor_days(cal, starts.get(p.pk), today) for p in surveyors}
    if not any(days.values()):  # the period is over: weigh the whole period
        days = {p.pk: surveyor_days(cal, starts.get(p.pk)) for p in surveyors}
    return days


def build_instance(
    placed_cases: list[dict],
    surveyors: list,
    bases: dict,
    params: dict,
    days_of: dict[int, list[int]] | None = None,
) -> dict:
    """The planning instance (docs/planning.md) as decoded JSON; `days_of`: each
    surveyor's working days (`working_days`), else `params["days"]` days for everyone."""
    p = {**DEFAULT_PARAMS, **params}
    nominal = list(range(1, int(p["days"]) + 1))
    days_of = days_of or {person.pk: nominal for person in surveyors}
    return {
        "days": sorted({d for person in surveyors for d in days_of[person.pk]}),
        "max_visits_per_day": p["max_visits_per_day"],
        "speed_kmh": p["speed_kmh"],
        "detour_factor": p["detour_factor"],
        "seconds": p["seconds"],
        "expected_revisits": p["expected_revisits"],
        "trip_after_minutes": p["trip_after_minutes"],
        "surveyors": [
            {
                "id": str(person.pk),
                "lat": float(base_of(person, bases).lat),
                "lng": float(base_of(person, bases).lng),
                "days": days_of[person.pk],
                "start": p["start"],
                "end": p["end"],
            }
            for person in surveyors
        ],
        "stops": [
            {"id": c["ref"], "lat": c["lat"], "lng": c["lng"], "minutes": p["visit_minutes"]}
            for c in placed_cases
        ],
    }


@transaction.atomic
def propose(contract: Contract, *, by, params: dict | None = None) -> AreaProposal:
    """Make a new proposal for `contract`; an earlier draft (and its moves) is discarded."""
    _require_office(contract, by)
    params = {**DEFAULT_PARAMS, **(params or {})}
    surveyors, refused = eligible_surveyors(contract)
    if not surveyors:
        raise ValidationError(
            _("案件を割り当てられる調査員がいません(指定・研修・誓約書を確認してください)。")
        )
    bases = {b.person_id: b for b in SurveyorBase.objects.filter(contract=contract)}
    missing = [p for p in surveyors if base_of(p, bases) is None]
    if missing:
        raise ValidationError(
            _("事務所の拠点を登録してください(自分の拠点のない調査員: %(people)s)。")
            % {"people": "、".join(str(p) for p in missing)}
        )
    days_of = working_days(contract, surveyors)
    idle = [p for p in surveyors if not days_of[p.pk]]
    for person in idle:
        refused[person] = [_("調査期間の中に勤務日がありません(指定日を確かめてください)。")]
    surveyors = [p for p in surveyors if days_of[p.pk]]
    if not surveyors:
        raise ValidationError(_("調査期間の中に勤務日のある調査員がいません。"))
    read = cases.cases_for_planning(by, contract, view="area_proposal_run")
    to_place = [c for c in read if placed(c)]
    if not to_place:
        raise ValidationError(_("位置が分かる未着手の案件がありません。"))
    data = build_instance(to_place, surveyors, bases, params, days_of)
    try:
        instance = parse_instance(data)
    except InstanceError as exc:  # a programming error or a bad parameter: said in words
        raise ValidationError([str(e) for e in exc.errors[:10]]) from exc
    areas = propose_areas(instance).to_dict(instance)

    people = {str(p.pk): p for p in surveyors}
    discarded = list(
        AreaProposal.objects.filter(
            contract=contract, status=AreaProposal.Status.DRAFT
        ).values_list("pk", flat=True)
    )
    AreaProposal.objects.filter(pk__in=discarded).update(status=AreaProposal.Status.DISCARDED)
    surveyor_of: dict[str, str] = {}
    trip_of: dict[str, str] = {}
    for area in areas["areas"]:
        for ref in area["stops"]:
            surveyor_of[ref] = area["surveyor"]
    for trip in areas["trips"]:
        for ref in trip["stops"]:
            surveyor_of[ref] = trip["surveyor"]
            trip_of[ref] = trip["id"]
    reasons = {u["id"]: u["reason"] for u in areas["unassigned"]}
    proposal = AreaProposal.objects.create(
        contract=contract,
        by=by,
        params=params,
        summary={
            "workload": {a["surveyor"]: a["workload_minutes"] for a in areas["areas"]},
            "trips": [
                {
                    "id": t["id"],
                    "surveyor": t["surveyor"],
                    "lodging": t["lodging"],
                    "cases": len(t["stops"]),
                }
                for t in areas["trips"]
            ],
            "unassigned": len(reasons),
            "flagged": len(read) - len(to_place),
            "refused": {p.username: reasons_ for p, reasons_ in refused.items()},
        },
    )
    AreaProposalCase.objects.bulk_create(
        [
            AreaProposalCase(
                proposal=proposal,
                case_ref=c["ref"],
                proposed_surveyor=people.get(surveyor_of.get(c["ref"], "")),
                surveyor=people.get(surveyor_of.get(c["ref"], "")),
                trip=trip_of.get(c["ref"], ""),
                reason=reasons.get(c["ref"], "")[:200],
            )
            for c in to_place
        ]
    )
    record(
        "planner.areas_proposed",
        obj=proposal,
        contract=contract,
        detail={
            "cases": len(to_place),
            "flagged": len(read) - len(to_place),
            "surveyors": sorted(p.username for p in surveyors),
            "refused": sorted(p.username for p in refused),
            "trips": len(areas["trips"]),
            "unassigned": len(reasons),
            "discarded": discarded,
            "params": params,
        },
    )
    return proposal


def current_draft(contract: Contract) -> AreaProposal | None:
    return (
        AreaProposal.objects.filter(contract=contract)
        .exclude(status=AreaProposal.Status.DISCARDED)
        .order_by("-created_at", "-id")
        .first()
    )


def _draft(contract: Contract, proposal_id: int) -> AreaProposal:
    proposal = (
        AreaProposal.objects.select_for_update(of=("self",), no_key=True)
        .filter(contract=contract, pk=proposal_id)
        .first()
    )
    if proposal is None or proposal.status != AreaProposal.Status.DRAFT:
        raise ValidationError(_("この案はもう変更できません(確定済みか、作り直されました)。"))
    return proposal


def _target(contract: Contract, surveyor_id: int | None):
    if surveyor_id is None:
        return None
    ok, _refused = eligible_surveyors(contract)
    for person in ok:
        if person.pk == surveyor_id:
            return person
    raise ValidationError(_("この調査員には移せません(指定・研修・誓約書を確認してください)。"))


def _move(proposal: AreaProposal, rows: list[AreaProposalCase], person, *, by, what: dict) -> int:
    if not rows:
        raise ValidationError(_("移す案件がありません。"))
    before = {r.case_ref: r.surveyor.username if r.surveyor_id else None for r in rows}
    AreaProposalCase.objects.filter(pk__in=[r.pk for r in rows]).update(surveyor=person)
    record(
        "planner.areas_moved",
        obj=proposal,
        contract=proposal.contract,
        detail={
            **what,
            "to": person.username if person is not None else None,
            "before": before,
            "after": {ref: person.username if person is not None else None for ref in before},
        },
    )
    return len(rows)


@transaction.atomic
def move_cases(contract: Contract, proposal_id: int, refs: list[str], surveyor_id, *, by) -> int:
    """Move cases of a draft to another surveyor (None: leave them unassigned)."""
    _require_office(contract, by)
    proposal = _draft(contract, proposal_id)
    person = _target(contract, surveyor_id)
    rows = list(proposal.rows.filter(case_ref__in=refs).select_related("surveyor"))
    return _move(proposal, rows, person, by=by, what={"cases": sorted(refs)})


@transaction.atomic
def move_town(
    contract: Contract, proposal_id: int, town_key: tuple[str, str, str], surveyor_id, *, by
) -> int:
    """Move every case of a town (prefecture, city, town) in a draft to a surveyor."""
    _require_office(contract, by)
    proposal = _draft(contract, proposal_id)
    person = _target(contract, surveyor_id)
    read = cases.cases_for_planning(by, contract, view="area_move_town")
    refs = [c["ref"] for c in read if (c["pref"], c["city"], c["town"]) == tuple(town_key)]
    rows = list(proposal.rows.filter(case_ref__in=refs).select_related("surveyor"))
    pref, city, town = town_key
    return _move(
        proposal, rows, person, by=by, what={"town": f"{pref}{city}{town}", "cases": sorted(refs)}
    )


@transaction.atomic
def move_trip(contract: Contract, proposal_id: int, trip_id: str, surveyor_id, *, by) -> int:
    """Move every case of a trip (出張) in a draft to another surveyor, so the trip stays
    one trip of one surveyor."""
    _require_office(contract, by)
    proposal = _draft(contract, proposal_id)
    person = _target(contract, surveyor_id)
    rows = list(proposal.rows.filter(trip=trip_id).exclude(trip="").select_related("surveyor"))
    return _move(
        proposal,
        rows,
        person,
        by=by,
        what={"trip": trip_id, "cases": sorted(r.case_ref for r in rows)},
    )


@transaction.atomic
def confirm(contract: Contract, proposal_id: int, *, by) -> dict[str, int]:
    """Assign every case of the draft to its surveyor through the gate
    (`fieldwork.services.assign_cases`), all or nothing. Returns {username: cases}."""
    _require_office(contract, by)
    proposal = _draft(contract, proposal_id)
    # Cases whose visits have started since the proposal keep their surveyor.
    open_refs = {c["ref"] for c in cases.cases_for_planning(by, contract, view="area_confirm")}
    by_surveyor: dict[int, list[str]] = {}
    people = {}
    skipped = []
    for row in proposal.rows.select_related("surveyor").filter(surveyor__isnull=False):
        if row.case_ref not in open_refs:
            skipped.append(row.case_ref)
            continue
        by_surveyor.setdefault(row.surveyor_id, []).append(row.case_ref)
        people[row.surveyor_id] = row.surveyor
    if not by_surveyor:
        raise ValidationError(_("調査員の決まった案件がありません。"))
    counts = {}
    for person_id, refs in sorted(by_surveyor.items()):
        counts[people[person_id].username] = fieldwork.assign_cases(
            contract, refs, people[person_id], by=by
        )
    proposal.status = AreaProposal.Status.CONFIRMED
    proposal.confirmed_at = timezone.now()
    proposal.confirmed_by = by
    proposal.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    moved = sum(1 for r in proposal.rows.all() if r.moved)
    record(
        "planner.areas_confirmed",
        obj=proposal,
        contract=contract,
        detail={"assigned": counts, "moved": moved, "skipped": sorted(skipped)},
    )
    return counts

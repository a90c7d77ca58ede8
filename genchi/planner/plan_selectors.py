"""Scoped reads of a contract's plan (D2, C-S2.4).

The manager and handlers designated on the contract (office work) see every surveyor's
routes, the unassigned cases and the excluded ones; a surveyor designated on it sees only
their own routes, and of those only the stops that are cases assigned to them (a proposed
but unconfirmed case stays hidden, counted). Everyone else gets 404. The scoping is here,
not in the views or templates: `plan_for` and `day_for` return only what the person may
see. Views log each showing of case data (`log_case_list_view`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404

from genchi.fieldwork.selectors import can_read_cases, case_contracts_for, survey_cases_for

from .models import CampaignPlan, PendingResult, SurveyorBase
from .plans import current_plan


def plan_contract_for(user, code: str):
    """A contract whose plan this person may open (office or designated surveyor), or 404."""
    contract = case_contracts_for(user).filter(code=code).select_related("contractor").first()
    if contract is None:
        raise Http404("契約が見つかりません")
    return contract


def sees_all(user, contract) -> bool:
    """The office (manager, handlers designated on it) sees every surveyor's plan."""
    return can_read_cases(user, contract)


@dataclass
class Cell:
    visits: int
    km: float
    minutes: int
    trip: str | None = None

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


@dataclass
class PlanView:
    row: CampaignPlan
    surveyors: list[Any]  # people, in order
    dates: list[dt.date]  # dates with a route of a visible surveyor
    table: dict[tuple[dt.date, int], Cell]
    totals: dict[int, dict[str, Any]]
    routes: list[dict]  # visible routes, each with "date"
    unassigned: list[dict] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)
    hidden: int = 0  # stops of visible routes the person may not see
    all_visible: bool = True

    @property
    def total_visits(self) -> int:
        return sum(t["visits"] for t in self.totals.values())

    @property
    def total_km(self) -> float:
        return round(sum(t["km"] for t in self.totals.values()), 1)

    @property
    def total_hours(self) -> float:
        return round(sum(t["minutes"] for t in self.totals.values()) / 60, 1)

    def rows(self) -> list[tuple[dt.date, list[tuple[Any, Cell | None]]]]:
        """(date, [(person, cell or None) for each surveyor]) for the table."""
        return [(d, [(p, self.table.get((d, p.pk))) for p in self.surveyors]) for d in self.dates]

    def summary(self) -> list[tuple[Any, dict[str, Any]]]:
        return [(p, self.totals.get(p.pk, {})) for p in self.surveyors]


def _people(ids) -> dict[int, Any]:
    return {p.pk: p for p in get_user_model().objects.filter(pk__in=list(ids))}


def visible_refs(user, contract, refs) -> set[str]:
    """Which of these case references this person may see (C-S2.4, via fieldwork)."""
    return set(
        survey_cases_for(user, contract)
        .filter(case_ref__in=list(refs))
        .values_list("case_ref", flat=True)
    )


def plan_for(user, contract) -> PlanView | None:
    """The current plan as this person may see it, or None when there is none."""
    row = current_plan(contract)
    data = row.plan if row else None
    if row is None or data is None:
        return None
    everything = sees_all(user, contract)
    routes = [r for r in data.get("routes", ()) if everything or r["surveyor"] == user.pk]
    refs = {s for r in routes for s in r["stops"]}
    shown = refs if everything else visible_refs(user, contract, refs)
    ids = {r["surveyor"] for r in routes}
    ids |= {s["id"] for s in row.instance.get("surveyors", ()) if everything or s["id"] == user.pk}
    people = _people(ids)
    surveyors = sorted(people.values(), key=lambda p: p.get_username())
    table: dict[tuple[dt.date, int], Cell] = {}
    totals: dict[int, dict[str, Any]] = {
        p.pk: {"days": 0, "visits": 0, "km": 0.0, "minutes": 0} for p in surveyors
    }
    out_routes = []
    hidden = 0
    for r in routes:
        date = row.date_of(r["day"])
        visible_stops = [s for s in r["stops"] if s in shown]
        hidden += len(r["stops"]) - len(visible_stops)
        cell = Cell(len(r["stops"]), float(r["km"]), int(r["minutes"]), r.get("trip"))
        table[(date, r["surveyor"])] = cell
        t = totals.setdefault(r["surveyor"], {"days": 0, "visits": 0, "km": 0.0, "minutes": 0})
        t["days"] += 1
        t["visits"] += cell.visits
        t["km"] += cell.km
        t["minutes"] += cell.minutes
        out_routes.append({**r, "date": date, "shown": visible_stops})
    for trip in data.get("trips", ()):  # the long legs to and from a trip's lodging
        if trip["surveyor"] in totals:
            totals[trip["surveyor"]]["km"] += float(trip["km"])
            totals[trip["surveyor"]]["minutes"] += int(trip["minutes"])
    for t in totals.values():
        t["km"] = round(t["km"], 1)
        t["hours"] = round(t["minutes"] / 60, 1)
    return PlanView(
        row=row,
        surveyors=surveyors,
        dates=sorted({d for d, _p in table}),
        table=table,
        totals=totals,
        routes=out_routes,
        unassigned=list(data.get("unassigned", ())) if everything else [],
        excluded=list(row.excluded) if everything else [],
        hidden=hidden,
        all_visible=everything,
    )


@dataclass
class DayView:
    row: CampaignPlan
    person: Any
    date: dt.date
    route: dict | None
    stops: list[dict]  # {"case", "time", "ref", "locked"} in visiting order, visible only
    hidden: int
    base: tuple[float, float] | None
    lodging: tuple[float, float] | None
    done: list[dict]  # visits recorded as done on this day (visible cases)


def day_for(user, contract, person_id: int, date: dt.date) -> DayView:
    """One surveyor's day. A surveyor may open only their own days (404 otherwise: the
    same answer as for a day that does not exist)."""
    if not sees_all(user, contract) and person_id != user.pk:
        raise Http404("計画が見つかりません")
    row = current_plan(contract)
    if row is None or row.plan is None:
        raise Http404("計画が見つかりません")
    instance = row.instance
    base_of = {s["id"]: (s["lat"], s["lng"]) for s in instance.get("surveyors", ())}
    if person_id not in base_of:
        raise Http404("計画が見つかりません")
    person = get_user_model().objects.filter(pk=person_id).first()
    if person is None:
        raise Http404("計画が見つかりません")
    day = row.day_of(date)
    route = next(
        (r for r in row.plan.get("routes", ()) if r["surveyor"] == person_id and r["day"] == day),
        None,
    )
    done_refs = [
        (s["id"], v["time"])
        for s in instance.get("stops", ())
        for v in s.get("done", ())
        if v["day"] == day and (s.get("surveyor") in (None, person_id))
    ]
    refs = set(route["stops"]) if route else set()
    refs |= {ref for ref, _t in done_refs}
    cases = {
        c.case_ref: c
        for c in survey_cases_for(user, contract)
        .filter(case_ref__in=list(refs))
        .select_related("contract")
    }
    stops = []
    hidden = 0
    if route:
        for ref, time in zip(route["stops"], route.get("times", ()), strict=False):
            case = cases.get(ref)
            if case is None:
                hidden += 1
                continue
            stops.append({"case": case, "ref": ref, "time": time, "locked": ref in row.locks})
    lodging = None
    if route and route.get("trip"):
        trip = next((t for t in row.plan.get("trips", ()) if t["id"] == route["trip"]), None)
        if trip:
            lodging = (trip["lodging"]["lat"], trip["lodging"]["lng"])
    done = [{"case": cases[ref], "time": t} for ref, t in done_refs if ref in cases]
    return DayView(
        row=row,
        person=person,
        date=date,
        route=route,
        stops=stops,
        hidden=hidden,
        base=base_of[person_id],
        lodging=lodging,
        done=done,
    )


def base_label(contract, person_id: int) -> str:
    base = (
        SurveyorBase.objects.filter(contract=contract, person_id=person_id).first()
        or SurveyorBase.objects.filter(contract=contract, person__isnull=True).first()
    )
    return base.label if base else ""


def versions(contract, limit: int = 10) -> list[CampaignPlan]:
    return list(
        CampaignPlan.objects.filter(contract=contract)
        .select_related("by")
        .order_by("-version")[:limit]
    )


def pending_results(contract) -> int:
    """How many visits' results wait to be applied to the contract's plan (the plan shown
    does not have them yet; a background task is applying them)."""
    return PendingResult.objects.filter(contract=contract, applied_at__isnull=True).count()

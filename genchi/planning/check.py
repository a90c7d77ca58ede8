"""An independent check of a plan against its instance: every rule, recomputed.

`check_plan(instance, plan)` returns one line per broken rule (empty when the plan is
feasible). It recomputes distances and times from the cost model rather than trusting
the solver: each route starts and ends at the surveyor's base (or the trip's lodging),
keeps the day's hours, the visits-per-day limit, each stop's days and time window, and
its km and minutes add up; each stop is visited at most as often as it still needs,
revisits keep their spacing and time class, and whatever is missing is in `unassigned`.
Used by the tests and the benchmark; the office can run it on a hand-edited plan.
"""

from __future__ import annotations

from collections import defaultdict

from genchi.planning.cost import TravelProvider
from genchi.planning.instance import Instance
from genchi.planning.network import default_travel, trip_model
from genchi.planning.plan import Plan, Route, Trip

KM_TOLERANCE = 0.01


def check_plan(instance: Instance, plan: Plan, travel: TravelProvider | None = None) -> list[str]:
    travel = travel or default_travel(instance)
    problems: list[str] = []
    surveyors = {s.id: s for s in instance.surveyors}
    trips = {t.id: t for t in plan.trips}
    visits: dict = defaultdict(list)  # stop id → [(day, minute)] planned
    seen_days: set = set()
    for trip in plan.trips:
        problems += _check_trip(instance, trip, surveyors)
    for route in plan.routes:
        where = f"route {route.surveyor} day {route.day}"
        sv = surveyors.get(route.surveyor)
        if sv is None:
            problems.append(f"{where}: unknown surveyor")
            continue
        if (route.surveyor, route.day) in seen_days:
            problems.append(f"{where}: two routes on one day")
        seen_days.add((route.surveyor, route.day))
        if route.day not in sv.days:
            problems.append(f"{where}: not a working day of the surveyor")
        if not route.stops or len(route.times) != len(route.stops):
            problems.append(f"{where}: no stops, or not one time per stop")
            continue
        if len(route.stops) > instance.max_visits_per_day:
            problems.append(f"{where}: {len(route.stops)} visits > max_visits_per_day")
        trip = trips.get(route.trip) if route.trip else None
        if route.trip and (
            trip is None or trip.surveyor != route.surveyor or route.day not in trip.days
        ):
            problems.append(f"{where}: trip {route.trip} does not hold this day")
            continue
        problems += _check_route(instance, route, sv, trip, travel)
        for sid, minute in zip(route.stops, route.times, strict=True):
            visits[sid].append((route.day, minute))
    for trip in plan.trips:
        others = [
            r
            for r in plan.routes
            if r.surveyor == trip.surveyor and r.day in trip.days and r.trip != trip.id
        ]
        if others:
            problems.append(f"trip {trip.id}: the surveyor has other routes on its days")
    problems += _check_stops(instance, plan, visits)
    return problems


def _check_trip(instance: Instance, trip: Trip, surveyors) -> list[str]:
    sv = surveyors.get(trip.surveyor)
    if sv is None:
        return [f"trip {trip.id}: unknown surveyor"]
    out = []
    days = list(trip.days)
    if days != list(range(days[0], days[0] + len(days))) or not set(days) <= set(sv.days):
        out.append(f"trip {trip.id}: days are not consecutive working days")
    if len(days) > instance.trip_max_days:
        out.append(f"trip {trip.id}: longer than trip_max_days")
    km, minutes = trip_model(instance).leg((sv.lat, sv.lng), trip.lodging)
    if abs(trip.km - 2 * km) > KM_TOLERANCE or trip.minutes != 2 * minutes:
        out.append(f"trip {trip.id}: km or minutes of the long legs do not add up")
    return out


def _check_route(instance: Instance, route: Route, sv, trip: Trip | None, travel) -> list[str]:
    where = f"route {route.surveyor} day {route.day}"
    out = []
    home = trip.lodging if trip else (sv.lat, sv.lng)
    stops = []
    for sid in route.stops:
        if not instance.has_stop(sid):
            return [f"{where}: unknown stop {sid!r}"]
        stops.append(instance.stop(sid))
    points = [home] + [(s.lat, s.lng) for s in stops]
    matrix = travel.matrix(points)
    legs = list(range(1, len(points))) + [0]
    km = matrix.km[0, 1] + sum(matrix.km[a, b] for a, b in zip(legs, legs[1:], strict=False))
    minutes = [int(matrix.minutes[0, 1])] + [
        int(matrix.minutes[a, b]) for a, b in zip(legs, legs[1:], strict=False)
    ]
    if abs(route.km - km) > KM_TOLERANCE:
        out.append(f"{where}: km {route.km} but the legs add up to {km:.3f}")
    service = sum(s.minutes for s in stops)
    if route.travel_minutes != sum(minutes) or route.minutes != sum(minutes) + service:
        out.append(f"{where}: minutes do not add up to travel + visits")
    start, end = sv.start, sv.end
    if trip and route.day == trip.days[0]:
        start += trip.minutes // 2
    if trip and route.day == trip.days[-1]:
        end -= trip.minutes // 2
    if route.depart < start:
        out.append(f"{where}: leaves before the day starts")
    clock = route.depart
    for i, (stop, minute) in enumerate(zip(stops, route.times, strict=True)):
        clock += minutes[i]
        if minute < clock:
            out.append(f"{where}: {stop.id} starts before the surveyor can be there")
        clock = max(clock, minute) + stop.minutes
        if stop.earliest is not None and minute < stop.earliest:
            out.append(f"{where}: {stop.id} before its earliest time")
        if stop.latest is not None and minute > stop.latest:
            out.append(f"{where}: {stop.id} after its latest time")
        if stop.days is not None and route.day not in stop.days:
            out.append(f"{where}: {stop.id} on a day it does not allow")
    clock += minutes[-1]
    if route.back < clock or route.back > end:
        out.append(f"{where}: back at the base after the day ends")
    return out


def _check_stops(instance: Instance, plan: Plan, visits) -> list[str]:
    out = []
    unassigned = {u.id: u for u in plan.unassigned}
    for sid in visits:
        if not instance.has_stop(sid):
            out.append(f"stop {sid!r}: not in the instance")
    for stop in instance.stops:
        planned = sorted(visits.get(stop.id, ()))
        if len(planned) > stop.remaining:
            out.append(f"stop {stop.id}: {len(planned)} visits planned, {stop.remaining} needed")
        if stop.fixed_day is not None and planned and planned[0][0] != stop.fixed_day:
            out.append(f"stop {stop.id}: next visit not on its fixed day")
        history = [(v.day, v.minute) for v in stop.done] + planned
        for (d1, m1), (d2, m2) in zip(history, history[1:], strict=False):
            if d2 - d1 < stop.gap_days:
                out.append(
                    f"stop {stop.id}: visits on days {d1} and {d2} closer than {stop.gap_days} days"
                )
            if stop.other_time and instance.time_class(d1, m1) == instance.time_class(d2, m2):
                out.append(
                    f"stop {stop.id}: revisit on day {d2} at the same time class as day {d1}"
                )
        missing = stop.remaining - len(planned)
        entry = unassigned.get(stop.id)
        if missing > 0 and (entry is None or entry.visits != missing or not entry.reason):
            out.append(f"stop {stop.id}: {missing} visits neither planned nor listed as unassigned")
        if missing <= 0 and entry is not None:
            out.append(f"stop {stop.id}: listed as unassigned but fully planned")
    return out

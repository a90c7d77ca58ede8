"""Areas: which surveyor takes which stops, and which far stops go together on a trip.

1. A stop is *local* to a surveyor when a day route from that surveyor's base can reach
   it (one way at most `trip_after_minutes`, there and back plus the visit within the
   day's hours) on a day both allow; a stop local to nobody is *far*.
2. Far stops are grouped into trips (出張): the far stop with the most far stops within
   `trip_radius_km` becomes a lodging, those stops its group (at most what
   `trip_max_days` days can hold), and so on until none is left. Groups then join into
   longer trips where day routes from one lodging cost less than another trip's long
   legs (`_merge_trips`).
3. Local stops and trips are given to surveyors by OR-Tools' CP-SAT solver: least
   travel from each base (a stop's expected visits × the distance there and back, an
   evening revisit weighted by how few visits an evening holds (`_route_visits`); a
   trip's long legs), with each surveyor's workload (visit and travel minutes, expected
   revisits included) at most their share of the total × (1 + `balance`); going over is
   allowed only at a high price, so an unbalanced instance still gets a proposal.

Stops that name a surveyor (confirmed areas, re-planning) stay with that surveyor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from genchi.planning._messages import _
from genchi.planning.instance import Instance, Stop, Surveyor
from genchi.planning.network import Network

OVERLOAD_PRICE = 1_000_000  # metres of travel one minute of overload is worth: balance first


@dataclass(slots=True)
class TripGroup:
    id: str
    surveyor: int  # surveyor index
    stops: list[int]  # stop indices
    lodging: int  # stop index
    leg_km: float = 0.0
    leg_minutes: int = 0


@dataclass(slots=True)
class Areas:
    surveyor_of: dict[int, int] = field(default_factory=dict)  # local stop → surveyor index
    trips: list[TripGroup] = field(default_factory=list)
    workload: dict[int, float] = field(default_factory=dict)  # surveyor index → minutes
    unassigned: dict[int, str] = field(default_factory=dict)  # stop index → reason

    def stops_of(self, k: int) -> list[int]:
        return [j for j, s in self.surveyor_of.items() if s == k]

    def to_dict(self, instance: Instance) -> dict[str, Any]:
        ids = [s.id for s in instance.stops]
        out: dict[str, Any] = {"areas": [], "trips": [], "unassigned": []}
        for k, sv in enumerate(instance.surveyors):
            out["areas"].append(
                {
                    "surveyor": sv.id,
                    "stops": [ids[j] for j in sorted(self.stops_of(k))],
                    "workload_minutes": round(self.workload.get(k, 0.0)),
                }
            )
        for trip in self.trips:
            lodging = instance.stops[trip.lodging]
            out["trips"].append(
                {
                    "id": trip.id,
                    "surveyor": instance.surveyors[trip.surveyor].id,
                    "stops": [ids[j] for j in trip.stops],
                    "lodging": {"lat": lodging.lat, "lng": lodging.lng},
                }
            )
        out["unassigned"] = [
            {"id": ids[j], "reason": reason} for j, reason in sorted(self.unassigned.items())
        ]
        return out


def reason_no_day() -> str:
    return _("訪問できる日がありません(訪問可能日と調査員の勤務日が重なりません)。")


def reason_hours() -> str:
    return _("訪問できる時間帯が、どの調査員の勤務時間内にも収まりません。")


def expected_visits(instance: Instance, stop: Stop) -> float:
    return stop.remaining + (instance.expected_revisits if stop.remaining else 0.0)


def _days_ok(stop: Stop, sv: Surveyor) -> bool:
    days = set(sv.days) if stop.days is None else stop.days.intersection(sv.days)
    if stop.fixed_day is not None:
        days &= {stop.fixed_day}
    return bool(days)


def _hours_ok(stop: Stop, sv: Surveyor, one_way: int) -> bool:
    first = max(sv.start + one_way, stop.earliest if stop.earliest is not None else 0)
    last = min(sv.end - one_way - stop.minutes, stop.latest if stop.latest is not None else 1440)
    return first <= last


def _other_time_ok(inst: Instance, stop: Stop, sv: Surveyor, one_way: int) -> bool:
    """Whether a day route from the base can make the stop's revisit at another time:
    an evening visit there and back within the working hours, or a weekend day. A stop
    that needs no such revisit passes."""
    if stop.remaining < 2 or not stop.other_time:
        return True
    if inst.weekend_days.intersection(sv.days):
        return True
    first = max(sv.start + one_way, inst.evening_from)
    last = min(sv.end - one_way - stop.minutes, stop.latest if stop.latest is not None else 1440)
    return first <= last


def propose(net: Network, stops: list[int], *, seconds: float = 1.0) -> Areas:
    """Areas for `stops` (indices into instance.stops) of the network's instance."""
    inst = net.instance
    areas = Areas()
    n_sv = len(inst.surveyors)
    fixed_sv = {sv.id: k for k, sv in enumerate(inst.surveyors)}
    local: dict[int, list[int]] = {}  # stop → surveyors it is local to
    far: list[int] = []
    for j in stops:
        stop = inst.stops[j]
        candidates = [fixed_sv[stop.surveyor]] if stop.surveyor is not None else list(range(n_sv))
        with_days = [k for k in candidates if _days_ok(stop, inst.surveyors[k])]
        if not with_days:
            areas.unassigned[j] = reason_no_day()
            continue
        ok = []
        for k in with_days:
            one_way = net.minutes(net.base(k), net.stop(j))
            if (
                one_way <= inst.trip_after_minutes
                and _hours_ok(stop, inst.surveyors[k], one_way)
                and _other_time_ok(inst, stop, inst.surveyors[k], one_way)
            ):
                ok.append(k)
        if ok:
            local[j] = ok
        elif any(_hours_ok(stop, inst.surveyors[k], 0) for k in with_days):
            far.append(j)
        else:
            areas.unassigned[j] = reason_hours()

    groups = _merge_trips(net, _trip_groups(net, far))
    load = {j: _stop_load(net, j, stops) for j in stops}
    trip_load = [sum(load[j] for j in g) for g in groups]
    _assign(net, areas, local, groups, load, trip_load, seconds)
    return areas


def _stop_load(net: Network, j: int, stops: list[int]) -> float:
    """Expected minutes a stop takes: its visits, each with the walk from a neighbour."""
    inst = net.instance
    row = net.travel.minutes[net.stop(j), [net.stop(i) for i in stops if i != j]]
    approach = float(row.min()) if len(row) else 0.0
    return expected_visits(inst, inst.stops[j]) * (inst.stops[j].minutes + approach)


def _trip_groups(net: Network, far: list[int]) -> list[list[int]]:
    """Greedy cover of the far stops by discs of trip_radius_km around a lodging stop.

    Stops that name different surveyors never share a trip. The first stop of each group
    is its lodging."""
    inst = net.instance
    cap = inst.trip_max_days * inst.max_visits_per_day
    groups: list[list[int]] = []
    by_owner: dict[Any, list[int]] = {}
    for j in far:
        by_owner.setdefault(inst.stops[j].surveyor, []).append(j)
    for members in by_owner.values():
        left = list(members)
        rows = [net.stop(j) for j in left]
        straight = net.travel.km[np.ix_(rows, rows)] / inst.detour_factor
        alive = np.ones(len(left), dtype=bool)
        while alive.any():
            near = (straight <= inst.trip_radius_km) & alive[None, :] & alive[:, None]
            counts = near.sum(axis=1)
            spread = np.where(near, straight, 0).sum(axis=1)
            best = int(np.lexsort((spread, -counts))[0])
            members_idx = np.flatnonzero(near[best])
            members_idx = members_idx[np.argsort(straight[best, members_idx])][:cap]
            group = [left[best]] + [left[i] for i in members_idx if i != best]
            groups.append(group)
            alive[members_idx] = False
            alive[best] = False
    return groups


def _merge_trips(net: Network, groups: list[list[int]]) -> list[list[int]]:
    """Join trips into fewer, longer ones where that lowers travel.

    The discs of `trip_radius_km` leave many one-case trips (a city next to another, a
    case outside its city), each with its own two long legs from a base. A group B
    joins a group A when B's cases can be visited on day routes from A's lodging (one
    way within `trip_after_minutes`), the days both need fit `trip_max_days`, and the
    day routes out to B (there and back on each of B's days) cost fewer km than B's own
    long legs from the nearest base. The best saving is taken first, until none is left."""
    inst = net.instance
    cap = inst.max_visits_per_day
    hours = max(sv.end - sv.start for sv in inst.surveyors)
    n_sv = len(inst.surveyors)

    def days(group: list[int], lodging: int) -> int | None:
        """Days group needs on routes from `lodging`, or None when out of a day's reach."""
        one_way = max(net.minutes(net.stop(lodging), net.stop(j)) for j in group)
        if one_way > inst.trip_after_minutes:
            return None
        visit = max(inst.stops[j].minutes for j in group)
        per_day = min(cap, (hours - 2 * one_way) // max(1, visit))
        if per_day <= 0:
            return None
        return math.ceil(sum(inst.stops[j].remaining for j in group) / per_day)

    def legs(group: list[int]) -> float:
        return 2 * min(net.trip_leg(k, group[0])[0] for k in range(n_sv))

    groups = [list(g) for g in groups]
    while len(groups) > 1:
        best = None  # (saving km, a, b)
        for a, ga in enumerate(groups):
            own = days(ga, ga[0])
            if own is None:
                continue
            for b, gb in enumerate(groups):
                if a == b or inst.stops[ga[0]].surveyor != inst.stops[gb[0]].surveyor:
                    continue
                out = days(gb, ga[0])
                if out is None or own + out > inst.trip_max_days:
                    continue
                route_km = max(net.km(net.stop(ga[0]), net.stop(j)) for j in gb)
                saving = legs(gb) - out * 2 * route_km
                if saving > 0 and (best is None or saving > best[0]):
                    best = (saving, a, b)
        if best is None:
            break
        _saving, a, b = best
        groups[a] = groups[a] + groups[b]
        del groups[b]
    return groups


def _route_visits(inst: Instance, j: int, k: int, visits: float, load: float) -> float:
    """A stop's expected visits from surveyor k's base, each weighted by how few visits
    share its route: 1 for a visit on a day route (up to `max_visits_per_day` a day).
    A revisit at another time by a surveyor with no weekend days is an evening visit,
    and an evening (from `evening_from` to the day's end) holds only a few visits, so it
    costs `max_visits_per_day` ÷ the visits an evening holds. Such stops then go, where
    the balance allows, to surveyors who can come back on a weekend day."""
    stop, sv = inst.stops[j], inst.surveyors[k]
    if stop.remaining < 2 or not stop.other_time or inst.weekend_days.intersection(sv.days):
        return visits
    per_visit = max(1.0, load / visits)  # the visit and the walk from the nearest stop
    evening = max(1, min(inst.max_visits_per_day, int((sv.end - inst.evening_from) // per_visit)))
    return 1 + (visits - 1) * inst.max_visits_per_day / evening


def _assign(net, areas, local, groups, load, trip_load, seconds) -> None:
    inst = net.instance
    n_sv = len(inst.surveyors)
    fixed_sv = {sv.id: k for k, sv in enumerate(inst.surveyors)}
    # item → [(surveyor, travel cost in metres, workload minutes)]
    options: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    legs: dict[tuple[int, int], tuple[float, int]] = {}
    for j, ks in local.items():
        visits = expected_visits(inst, inst.stops[j])
        options[("s", j)] = [
            (
                k,
                int(
                    2
                    * _route_visits(inst, j, k, visits, load[j])
                    * net.meters[net.base(k), net.stop(j)]
                ),
                round(load[j]),
            )
            for k in ks
        ]
    for g, group in enumerate(groups):
        owner = inst.stops[group[0]].surveyor
        ks = [fixed_sv[owner]] if owner is not None else list(range(n_sv))
        ks = [k for k in ks if any(_days_ok(inst.stops[j], inst.surveyors[k]) for j in group)]
        if not ks:
            for j in group:
                areas.unassigned[j] = reason_no_day()
            continue
        options[("t", g)] = []
        for k in ks:
            legs[(g, k)] = km, minutes = net.trip_leg(k, group[0])
            options[("t", g)].append((k, int(2 * km * 1000), round(trip_load[g] + 2 * minutes)))
    if not options:
        return

    model = cp_model.CpModel()
    choice: dict[tuple[tuple[str, int], int], Any] = {}
    cost_terms = []
    load_terms: list[list[tuple[Any, int]]] = [[] for _k in range(n_sv)]
    for item, opts in options.items():
        for k, cost, work in opts:
            x = choice[(item, k)] = model.new_bool_var(f"{item[0]}{item[1]}_{k}")
            cost_terms.append(x * cost)
            load_terms[k].append((x, work))
        model.add_exactly_one(choice[(item, k)] for k, _c, _w in opts)
    limit = _limits(inst, sum(min(w for _k, _c, w in opts) for opts in options.values()))
    for k in range(n_sv):
        if not load_terms[k]:
            continue
        cap = int(limit[k]) + 1
        over = model.new_int_var(0, sum(w for _x, w in load_terms[k]), f"over{k}")
        model.add(sum(x * w for x, w in load_terms[k]) - over <= cap)
        cost_terms.append(over * OVERLOAD_PRICE)
    model.minimize(sum(cost_terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    solver.parameters.num_workers = 1
    found = solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    for item, opts in options.items():
        if found:
            k = next(k for k, _c, _w in opts if solver.boolean_value(choice[(item, k)]))
        else:  # no solution in the time given: the nearest allowed base
            k = min(opts, key=lambda o: o[1])[0]
        kind, index = item
        if kind == "s":
            areas.surveyor_of[index] = k
            areas.workload[k] = areas.workload.get(k, 0.0) + load[index]
        else:
            km, minutes = legs[(index, k)]
            group = groups[index]
            areas.trips.append(
                TripGroup(f"T{len(areas.trips) + 1}", k, group, group[0], km, minutes)
            )
            areas.workload[k] = areas.workload.get(k, 0.0) + trip_load[index] + 2 * minutes


def _limits(inst: Instance, total: float) -> list[float]:
    """Each surveyor's workload share of `total` (by working days × hours) × (1 + balance)."""
    capacity = [len(sv.days) * (sv.end - sv.start) for sv in inst.surveyors]
    return [total * c / sum(capacity) * (1 + inst.balance) for c in capacity]

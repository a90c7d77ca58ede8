"""Campaign planning: areas, then each surveyor's trips and days, visit round by round.

`solve(instance)` proposes areas (`areas.propose`) and then plans each surveyor alone:

- Visits are planned in rounds: round 1 holds every stop's next visit, round 2 the one
  after, and so on. A round's windows follow from the round before: at least the stop's
  `gap_days` after its previous visit and, with `other_time`, in another time class
  (day, evening, weekend) than that visit. Visits of earlier rounds stay on their day
  and in their time class while the routing library re-orders them around the new ones.
- The day routes from the base come first, all their rounds, packed on as few days as
  they fit; then the trips (出張), round by round, on the days left free: the earliest
  run of consecutive free days long enough for the trip's visits, the day routes
  starting and ending at the trip's lodging, the first day shortened by the long leg out
  and the last by the leg home.
- A visit that cannot be placed goes to `unassigned` with the reason, with the stop's
  later visits.

`replan(instance, plan, surveyor, from_day)` plans one surveyor's days from `from_day`
again, keeping the visits the instance records as done (`done`) and locked ones, and
leaves every other surveyor's routes as they were.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from genchi.planning import routing
from genchi.planning._messages import _
from genchi.planning.areas import Areas, TripGroup, propose
from genchi.planning.cost import TravelProvider
from genchi.planning.instance import DoneVisit, Instance, Stop, StopId
from genchi.planning.network import Network
from genchi.planning.plan import Plan, Route, Trip, Unassigned

MINUTES_PER_DAY = routing.MINUTES_PER_DAY
PINNED_PRIORITY = 100
# Metres of travel a day route costs just for being used: the routing library then fills
# days rather than spreading a few visits over every day, which leaves days free for trips.
DAY_COST = 50_000


def reason_capacity() -> str:
    return _("期間内の訪問枠(勤務日・1日の訪問件数・勤務時間)に収まりませんでした。")


def reason_revisit() -> str:
    return _("前回の訪問から間隔を空け、別の時間帯に再訪できる日が残っていません。")


def reason_trip() -> str:
    return _("出張の日数の上限(trip_max_days)と勤務日の中で、出張の訪問を組めませんでした。")


def reason_trip_days() -> str:
    return _(
        "出張に使える空いた勤務日が残っていません(勤務日は日帰りの訪問と他の出張で埋まっています)。"
    )


def reason_window() -> str:
    return _("訪問できる日と時間帯の条件を満たす勤務日がありません。")


def solve(instance: Instance, *, travel: TravelProvider | None = None) -> Plan:
    """Plan the whole campaign of `instance` within its `seconds`."""
    started = time.perf_counter()
    # Keep a little of the time for building the plan after the last library call.
    deadline = started + instance.seconds * 0.95
    net = Network.build(instance, travel)
    todo = [j for j, s in enumerate(instance.stops) if s.remaining > 0]
    areas = propose(net, todo, seconds=min(2.0, 0.1 * instance.seconds))
    plan = plan_areas(net, areas, deadline)
    plan.areas = {
        sv.id: [instance.stops[j].id for j in sorted(areas.stops_of(k))]
        for k, sv in enumerate(instance.surveyors)
    }
    plan.seconds = time.perf_counter() - started
    return plan.sort()


def propose_areas(instance: Instance, *, travel: TravelProvider | None = None) -> Areas:
    """The area proposal alone (the office shows it before routes are planned)."""
    net = Network.build(instance, travel)
    todo = [j for j, s in enumerate(instance.stops) if s.remaining > 0]
    return propose(net, todo, seconds=min(2.0, 0.2 * instance.seconds))


def plan_areas(net: Network, areas: Areas, deadline: float) -> Plan:
    inst = net.instance
    plan = Plan(solver=routing.SOLVER_NAME)
    for j, reason in areas.unassigned.items():
        plan.unassigned.append(Unassigned(inst.stops[j].id, reason, inst.stops[j].remaining))
    work = []
    for k in range(len(inst.surveyors)):
        local = areas.stops_of(k)
        trips = [t for t in areas.trips if t.surveyor == k]
        size = sum(inst.stops[j].remaining for j in local) + sum(
            inst.stops[j].remaining for t in trips for j in t.stops
        )
        if size:
            work.append((k, local, trips, size))
    left = sum(w[3] for w in work)
    for k, local, trips, size in work:
        budget = max(0.05, (deadline - time.perf_counter()) * size / left)
        left -= size
        _SurveyorPlanner(net, k, local, trips, time.perf_counter() + budget).run(plan)
    return plan


@dataclass(slots=True)
class _Placed:
    day: int
    minute: int
    windows: list[tuple[int, int]]  # the visit's own windows, absolute minutes


@dataclass(slots=True)
class _SurveyorPlanner:
    net: Network
    k: int
    local: list[int]
    trips: list[TripGroup]
    deadline: float
    free_days: set[int] = field(default_factory=set)
    history: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # stop → (day, min)
    pinned: dict[int, list[_Placed]] = field(default_factory=dict)  # local stop → visits
    trip_routes: list[Route] = field(default_factory=list)
    trip_records: list[Trip] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    def run(self, plan: Plan) -> None:
        inst = self.net.instance
        sv = inst.surveyors[self.k]
        self.free_days = set(sv.days)
        stops = self.local + [j for t in self.trips for j in t.stops]
        for j in stops:
            self.history[j] = [(v.day, v.minute) for v in inst.stops[j].done]
        rounds = max((inst.stops[j].remaining for j in stops), default=0)
        # Day routes first, every round of them: a day from the base holds the most
        # visits, so the cases near the bases are planned in full before any trip takes
        # days. They are packed on as few days as they fit (a fixed cost per day used),
        # so the trips get the days left free.
        for r in range(1, rounds + 1):
            members = [j for j in self.local if self._wants(j, r)]
            if members:
                budget = (self.deadline - time.perf_counter()) * 0.6 / (rounds - r + 1)
                self._route_local(members, r, budget)
        for r in range(1, rounds + 1):
            for trip in self.trips:
                members = [j for j in trip.stops if self._wants(j, r)]
                if members:
                    self._place_trip(trip, members, r)
        plan.routes.extend(self._local_routes())
        plan.routes.extend(self.trip_routes)
        plan.trips.extend(self.trip_records)
        for j in stops:
            stop = inst.stops[j]
            missing = stop.remaining - (len(self.history[j]) - len(stop.done))
            if missing > 0:
                plan.unassigned.append(
                    Unassigned(stop.id, self.failed.get(j, reason_capacity()), missing)
                )

    def _wants(self, j: int, r: int) -> bool:
        return j not in self.failed and self.net.instance.stops[j].remaining >= r

    # -- windows -------------------------------------------------------------------------

    def _windows(self, j: int, r: int, hours: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
        last_day = max(self.net.instance.surveyors[self.k].days)
        return visit_windows(self.net.instance, j, r, self.history[j], hours, last_day)

    def _no_window_reason(self, j: int, r: int) -> str:
        """Why stop j's r-th visit has no window on the free days: the rules leave no
        working day at all, or the days that would do are taken (by trips, other
        visits): then it is the capacity, not the rules."""
        sv = self.net.instance.surveyors[self.k]
        every_day = [(d, sv.start, sv.end) for d in sv.days]
        if self._windows(j, r, every_day):
            return reason_capacity()
        return reason_revisit() if self.history[j] else reason_window()

    def _day_hours(self) -> list[tuple[int, int, int]]:
        sv = self.net.instance.surveyors[self.k]
        return [(d, sv.start, sv.end) for d in sorted(self.free_days)]

    # -- local day routes ----------------------------------------------------------------

    def _route_local(self, members: list[int], r: int, budget: float) -> None:
        net, inst = self.net, self.net.instance
        hours = self._day_hours()
        base = net.base(self.k)
        vehicles = [
            routing.Vehicle(d, d, base, base, s, e, inst.max_visits_per_day, DAY_COST)
            for d, s, e in hours
        ]
        jobs: list[routing.Job] = []
        owners: list[tuple[int, _Placed | None]] = []
        for j, visits in self.pinned.items():
            for placed in visits:
                jobs.append(
                    routing.Job(
                        (j, placed),
                        net.stop(j),
                        inst.stops[j].minutes,
                        same_class_windows(inst, placed.day, placed.minute, placed.windows),
                    )
                )
                owners.append((j, placed))
        new_windows = {j: self._windows(j, r, hours) for j in members}
        for j in members:
            if not new_windows[j]:
                self.failed[j] = self._no_window_reason(j, r)
                continue
            jobs.append(routing.Job((j, None), net.stop(j), inst.stops[j].minutes, new_windows[j]))
            owners.append((j, None))
        if len(jobs) == sum(len(v) for v in self.pinned.values()):
            return
        locations = [base] + [job.loc for job in jobs]
        result = routing.solve_within(
            net.meters,
            net.travel.minutes,
            locations,
            vehicles,
            jobs,
            seconds=budget,
            priorities=[PINNED_PRIORITY if owner[1] else 0 for owner in owners],
        )
        if any(owners[i][1] is not None for i in result.unassigned):
            # The library dropped a visit of an earlier round: once more with every earlier
            # visit tied to its own day, which it then cannot trade for new ones.
            index = {v.day: i for i, v in enumerate(vehicles)}
            for job, (_j, placed) in zip(jobs, owners, strict=True):
                if placed is not None:
                    job.vehicle = index[placed.day]
            result = routing.solve_within(
                net.meters,
                net.travel.minutes,
                locations,
                vehicles,
                jobs,
                seconds=max(0.05, self.deadline - time.perf_counter()) / 4,
                priorities=[PINNED_PRIORITY if owner[1] else 0 for owner in owners],
            )
        # Still dropped: those few stops lose all their planned visits (a later visit
        # rests on the earlier one), the rest of the round stands.
        dropped = {owners[i][0] for i in result.unassigned if owners[i][1] is not None}
        for j in dropped:
            self.history[j] = [(v.day, v.minute) for v in inst.stops[j].done]
            self.failed[j] = reason_capacity()
        pinned: dict[int, list[_Placed]] = {}
        for v, steps in result.routes.items():
            day = vehicles[v].day
            for i, start in steps:
                j, placed = owners[i]
                if j in dropped:
                    continue
                windows = placed.windows if placed else new_windows[j]
                pinned.setdefault(j, []).append(_Placed(day, start % MINUTES_PER_DAY, windows))
                if placed is None:
                    self.history[j].append((day, start % MINUTES_PER_DAY))
        for i in result.unassigned:
            j = owners[i][0]
            if j in dropped:
                continue
            self.failed.setdefault(j, reason_revisit() if self.history[j] else reason_capacity())
        for visits in pinned.values():
            visits.sort(key=lambda p: (p.day, p.minute))
        # Earlier visits may have moved within their day and class: refresh the history.
        for j, visits in pinned.items():
            done = self.history[j][: len(self.history[j]) - len(visits)]
            self.history[j] = done + [(p.day, p.minute) for p in visits]
        self.pinned = pinned

    def _local_routes(self) -> list[Route]:
        net, inst = self.net, self.net.instance
        by_day: dict[int, list[tuple[int, int]]] = {}
        for j, visits in self.pinned.items():
            for p in visits:
                by_day.setdefault(p.day, []).append((p.minute, j))
        base = net.base(self.k)
        return [
            build_route(net, inst.surveyors[self.k].id, day, base, sorted(v), None)
            for day, v in sorted(by_day.items())
        ]

    # -- trips ---------------------------------------------------------------------------

    def _place_trip(self, trip: TripGroup, members: list[int], r: int) -> None:
        net, inst = self.net, self.net.instance
        sv = inst.surveyors[self.k]
        lodging = net.stop(trip.lodging)
        need = math.ceil(len(members) / inst.max_visits_per_day)
        best = None  # (placed count, -days, result, block, hours, windows)
        # Days that already hold a local route of an earlier round are not free for a trip.
        taken = {p.day for visits in self.pinned.values() for p in visits}
        free = sorted(self.free_days - taken)
        any_block = False  # whether any run of free days was long enough
        for n in range(max(1, need), inst.trip_max_days + 1):
            tried = 0
            for block in _consecutive_runs(free, n):
                any_block = True
                hours = []
                for i, d in enumerate(block):
                    start = sv.start + (trip.leg_minutes if i == 0 else 0)
                    end = sv.end - (trip.leg_minutes if i == n - 1 else 0)
                    if start < end:
                        hours.append((d, start, end))
                windows = {j: self._windows(j, r, hours) for j in members}
                if not any(windows.values()):
                    continue
                tried += 1
                vehicles = [
                    routing.Vehicle(d, d, lodging, lodging, s, e, inst.max_visits_per_day)
                    for d, s, e in hours
                ]
                jobs = [
                    routing.Job(j, net.stop(j), inst.stops[j].minutes, windows[j]) for j in members
                ]
                result = routing.solve_within(
                    net.meters,
                    net.travel.minutes,
                    [lodging] + [job.loc for job in jobs],
                    vehicles,
                    jobs,
                    seconds=max(0.05, min(0.5, (self.deadline - time.perf_counter()) / 8)),
                )
                placed = sum(len(s) for s in result.routes.values())
                if best is None or placed > best[0]:
                    best = (placed, result, block, vehicles, jobs)
                if placed == len(members) or tried >= 3:
                    break
            if best and best[0] == len(members):
                break
        if best is None or best[0] == 0:
            # No run of free days at all: the days are used up, whatever the rules.
            for j in members:
                if not any_block:
                    self.failed[j] = reason_trip_days()
                else:
                    self.failed[j] = reason_revisit() if self.history[j] else reason_trip()
            return
        placed, result, block, vehicles, jobs = best
        trip_id = trip.id if r == 1 else f"{trip.id}-{r}"
        done_stops = []
        for v, steps in sorted(result.routes.items()):
            day = vehicles[v].day
            visits = [(start % MINUTES_PER_DAY, jobs[i].key) for i, start in steps]
            for minute, j in visits:
                self.history[j].append((day, minute))
                done_stops.append(j)
            self.trip_routes.append(build_route(net, sv.id, day, lodging, visits, trip_id))
        for i in result.unassigned:
            j = jobs[i].key
            self.failed[j] = reason_revisit() if self.history[j] else reason_trip()
        self.free_days -= set(block)
        lodging_stop = inst.stops[trip.lodging]
        self.trip_records.append(
            Trip(
                id=trip_id,
                surveyor=sv.id,
                days=tuple(block),
                lodging=(lodging_stop.lat, lodging_stop.lng),
                stops=tuple(inst.stops[j].id for j in done_stops),
                km=2 * trip.leg_km,
                minutes=2 * trip.leg_minutes,
            )
        )


def visit_windows(
    inst: Instance,
    j: int,
    r: int,
    history: list[tuple[int, int]],
    hours: list[tuple[int, int, int]],
    last_day: int,
    room: bool = True,
) -> list[tuple[int, int]]:
    """Absolute start windows of stop j's r-th planned visit on the given (day, start,
    end) hours, from the stop's own limits and its previous visit (the last of
    `history`, (day, minute)). With `room`, the visit leaves enough days before
    `last_day` for the stop's later visits, unless that leaves no day at all."""
    stop = inst.stops[j]
    prev = history[-1] if history else None
    prev_class = inst.time_class(*prev) if prev and stop.other_time else None
    after = stop.remaining - r
    latest_day = last_day - after * stop.gap_days
    out = []
    for day, start, end in hours:
        if stop.days is not None and day not in stop.days:
            continue
        if r == 1 and stop.fixed_day is not None and day != stop.fixed_day:
            continue
        if prev and day < prev[0] + stop.gap_days:
            continue
        if room and after and day > latest_day:
            continue
        a = max(start, stop.earliest if stop.earliest is not None else 0)
        b = min(end - stop.minutes, stop.latest if stop.latest is not None else MINUTES_PER_DAY)
        if a > b:
            continue
        offset = day * MINUTES_PER_DAY
        if prev_class is None:
            out.append((offset + a, offset + b))
            continue
        for cls, (ca, cb) in inst.class_windows(day, a, b).items():
            if cls != prev_class and ca <= cb:
                out.append((offset + ca, offset + cb))
    if not out and room and after:
        return visit_windows(inst, j, r, history, hours, last_day, room=False)
    return sorted(out)


def same_class_windows(
    inst: Instance, day: int, minute: int, windows: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """A placed visit's windows cut to its day and its time class there."""
    cls = inst.time_class(day, minute)
    ca, cb = inst.class_windows(day, 0, MINUTES_PER_DAY)[cls]
    lo, hi = day * MINUTES_PER_DAY + ca, day * MINUTES_PER_DAY + cb
    return [(max(a, lo), min(b, hi)) for a, b in windows if a <= hi and b >= lo]


def _consecutive_runs(days: list[int], n: int) -> Iterable[list[int]]:
    """Runs of n consecutive calendar days within `days`, earliest first."""
    for i in range(len(days) - n + 1):
        run = days[i : i + n]
        if run[-1] - run[0] == n - 1:
            yield run


def build_route(
    net: Network,
    surveyor: StopId,
    day: int,
    home: int,
    visits: list[tuple[int, int]],
    trip: str | None,
) -> Route:
    """A route from its visits [(start minute, stop index)] in order, from and to `home`."""
    inst = net.instance
    rows = [home] + [net.stop(j) for _m, j in visits] + [home]
    km = sum(net.km(a, b) for a, b in zip(rows, rows[1:], strict=False))
    travel = sum(net.minutes(a, b) for a, b in zip(rows, rows[1:], strict=False))
    service = sum(inst.stops[j].minutes for _m, j in visits)
    first, last = visits[0], visits[-1]
    return Route(
        surveyor=surveyor,
        day=day,
        stops=tuple(inst.stops[j].id for _m, j in visits),
        times=tuple(m for m, _j in visits),
        depart=first[0] - net.minutes(home, net.stop(first[1])),
        back=last[0] + inst.stops[last[1]].minutes + net.minutes(net.stop(last[1]), home),
        km=km,
        travel_minutes=travel,
        visit_minutes=service,
        trip=trip,
    )


def replan(
    instance: Instance,
    plan: Plan,
    surveyor: StopId,
    from_day: int,
    *,
    locked: Iterable[tuple[StopId, int]] = (),
    seconds: float | None = None,
    travel: TravelProvider | None = None,
    under_way: int | None = None,
) -> Plan:
    """Plan surveyor's days from `from_day` on again.

    The instance says what happened: each stop's `done` visits (a result came in) and
    `visits` (lower it to len(done) when the case needs no more visits). `locked` pins a
    stop's next visit to a day (an appointment, or the manager's choice). The surveyor's
    stops are those of their routes and trips in `plan`, and any stop naming them. Their
    routes before `from_day` are dropped (the `done` visits are the record of those days),
    except the day `under_way` (today, before `from_day`): the surveyor is out on it, so
    its route stays as it is, with the rest of its trip when it is a trip's day, and its
    visits not done yet count as made that day. Every other surveyor's routes and trips
    are kept as they are."""
    started = time.perf_counter()
    sv = instance.surveyor(surveyor)
    kept_routes, kept_trips = _under_way(plan, surveyor, under_way, from_day)
    ids = {sid for r in plan.routes if r.surveyor == surveyor for sid in r.stops}
    ids |= {sid for t in plan.trips if t.surveyor == surveyor for sid in t.stops}
    ids |= {
        u.id
        for u in plan.unassigned
        if instance.has_stop(u.id) and instance.stop(u.id).surveyor == surveyor
    }
    ids |= {s.id for s in instance.stops if s.surveyor == surveyor}
    pins = dict(locked)
    kept_visits = _visits_of(kept_routes)
    stops = tuple(
        _with_kept(
            replace(s, surveyor=surveyor, fixed_day=pins.get(s.id, s.fixed_day)),
            kept_visits.get(s.id, ()),
        )
        for s in instance.stops
        if s.id in ids
    )
    taken = {d for t in kept_trips for d in t.days} | {r.day for r in kept_routes}
    sub = replace(
        instance,
        stops=stops,
        surveyors=(
            replace(sv, days=tuple(d for d in sv.days if d >= from_day and d not in taken)),
        ),
        seconds=seconds if seconds is not None else min(instance.seconds, 1.0),
        _stop_index={},
    )
    new = solve(sub, travel=travel)
    # Trip ids restart in the new plan: make them unique next to the kept ones.
    rename = {t.id: f"{surveyor}-{from_day}-{t.id}" for t in new.trips}
    new.trips = [replace(t, id=rename[t.id]) for t in new.trips]
    new.routes = [replace(r, trip=rename[r.trip]) if r.trip else r for r in new.routes]
    out = Plan(solver=new.solver)
    out.routes = [r for r in plan.routes if r.surveyor != surveyor] + kept_routes + new.routes
    out.trips = [t for t in plan.trips if t.surveyor != surveyor] + kept_trips + new.trips
    out.unassigned = [u for u in plan.unassigned if u.id not in ids] + new.unassigned
    out.seconds = time.perf_counter() - started
    return out.sort()


def _under_way(
    plan: Plan, surveyor: StopId, day: int | None, from_day: int
) -> tuple[list[Route], list[Trip]]:
    """The surveyor's routes that a re-plan from `from_day` keeps: the one of `day` (today)
    and, when it is a trip's day, the trip with all its days: its lodging is booked."""
    if day is None or day >= from_day:
        return [], []
    today = next((r for r in plan.routes if r.surveyor == surveyor and r.day == day), None)
    if today is None:
        return [], []
    trip = next((t for t in plan.trips if today.trip and t.id == today.trip), None)
    if trip is None:
        return [today], []
    routes = [r for r in plan.routes if r.surveyor == surveyor and r.trip == trip.id]
    return [r for r in routes if r.day >= day], [trip]


def _visits_of(routes: Iterable[Route]) -> dict[StopId, list[DoneVisit]]:
    out: dict[StopId, list[DoneVisit]] = {}
    for route in routes:
        for sid, minute in zip(route.stops, route.times, strict=True):
            out.setdefault(sid, []).append(DoneVisit(route.day, minute))
    return out


def _with_kept(stop: Stop, kept: Iterable[DoneVisit]) -> Stop:
    """`stop` with the visits a kept route holds counted as made, unless a result for that
    day is already among its `done` visits."""
    days = {v.day for v in stop.done}
    extra = [v for v in kept if v.day not in days]
    if not extra:
        return stop
    done = tuple(sorted((*stop.done, *extra), key=lambda v: (v.day, v.minute)))
    return replace(stop, done=done, visits=max(stop.visits, len(done)))

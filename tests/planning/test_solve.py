"""Plans keep every rule of their instance; what cannot be placed is listed with a reason.

Feasibility is checked twice: by `check_plan` (which recomputes the cost model) and by
assertions here that do not use the planner's code at all."""

from __future__ import annotations

import math
import time
from collections import Counter

from genchi.planning import check_plan, parse_instance, solve
from tests.planning.helpers import (
    KAWAGUCHI,
    OSAKA,
    SETAGAYA,
    SHINJUKU,
    instance,
    mixed,
    scatter,
    stop,
    surveyor,
)


def km_between(a, b, detour):
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h)) * detour


def hhmm(text):
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def assert_feasible(data: dict, out: dict) -> None:
    """The plan JSON against the instance JSON, by hand."""
    stops = {s["id"]: s for s in data["stops"]}
    people = {s["id"]: s for s in data["surveyors"]}
    trips = {t["id"]: t for t in out["trips"]}
    weekend = set(data.get("weekend_days", ()))
    evening = hhmm(data.get("evening_from", "17:00"))
    visits: dict = {}
    per_day = Counter()
    for route in out["routes"]:
        sv = people[route["surveyor"]]
        per_day[(route["surveyor"], route["day"])] += 1
        assert route["day"] in sv["days"]
        assert 1 <= len(route["stops"]) <= data["max_visits_per_day"]
        trip = trips.get(route.get("trip"))
        home = (trip["lodging"]["lat"], trip["lodging"]["lng"]) if trip else (sv["lat"], sv["lng"])
        points = [home] + [(stops[s]["lat"], stops[s]["lng"]) for s in route["stops"]] + [home]
        km = sum(
            km_between(a, b, data["detour_factor"])
            for a, b in zip(points, points[1:], strict=False)
        )
        assert abs(route["km"] - km) < 0.01  # the route starts and ends at home
        assert hhmm(route["depart"]) >= hhmm(sv["start"])
        assert hhmm(route["return"]) <= hhmm(sv["end"])
        clock = hhmm(route["depart"])
        for i, sid in enumerate(route["stops"]):
            leg = math.ceil(
                round(
                    km_between(points[i], points[i + 1], data["detour_factor"])
                    / data["speed_kmh"]
                    * 60,
                    6,
                )
            )
            start = hhmm(route["times"][i])
            assert start >= clock + leg
            s = stops[sid]
            assert hhmm(s.get("earliest", "00:00")) <= start <= hhmm(s.get("latest", "24:00"))
            if "days" in s:
                assert route["day"] in s["days"]
            clock = start + s["minutes"]
            visits.setdefault(sid, []).append((route["day"], start))
        assert clock <= hhmm(route["return"])
    assert max(per_day.values(), default=1) == 1  # one route per surveyor and day
    unassigned = {u["id"]: u for u in out["unassigned"]}
    for sid, s in stops.items():
        planned = sorted(visits.get(sid, []))
        needed = s.get("visits", 1)
        assert len(planned) <= needed
        if len(planned) < needed:
            assert unassigned[sid]["visits"] == needed - len(planned)
            assert unassigned[sid]["reason"]
        for (d1, m1), (d2, m2) in zip(planned, planned[1:], strict=False):
            assert d2 - d1 >= s.get("gap_days", 7)
            cls1 = "w" if d1 in weekend else ("e" if m1 >= evening else "d")
            cls2 = "w" if d2 in weekend else ("e" if m2 >= evening else "d")
            assert cls1 != cls2


def test_mixed_instance_is_feasible_and_complete():
    data = mixed()
    inst = parse_instance(data)
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    out = plan.to_dict()
    assert_feasible(data, out)
    totals = out["totals"]
    assert totals["unassigned"] == 0, out["unassigned"]
    assert totals["visits"] == sum(s.get("visits", 1) for s in data["stops"])
    assert (
        abs(totals["km"] - sum(r["km"] for r in out["routes"]) - sum(t["km"] for t in out["trips"]))
        < 0.01
    )
    # The Osaka stops are a trip (出張) over consecutive days, routes from the lodging.
    assert out["trips"] and all(
        t["days"] == list(range(t["days"][0], t["days"][0] + len(t["days"]))) for t in out["trips"]
    )
    osaka = {s["id"] for s in data["stops"] if s["id"].startswith("o")}
    trip_stops = {sid for r in out["routes"] if r.get("trip") for sid in r["stops"]}
    assert osaka <= trip_stops
    # The stop with a 13:00–15:00 window and the one allowed on days 2–3 only kept them.
    windowed = next(s for s in data["stops"] if s.get("earliest") == "13:00")
    start = next(
        r["times"][r["stops"].index(windowed["id"])]
        for r in out["routes"]
        if windowed["id"] in r["stops"]
    )
    assert "13:00" <= start <= "15:00"


def test_revisits_keep_their_spacing_and_go_to_another_time():
    data = instance(
        [
            stop(f"r{i}", SHINJUKU[0] + i * 0.003, SHINJUKU[1], visits=3, gap_days=2)
            for i in range(4)
        ],
        [surveyor("s1", SHINJUKU, [1, 2, 3, 4, 5, 6, 8, 9, 10], end="20:00")],
        list(range(1, 11)),
        weekend_days=[6, 7],
        evening_from="17:00",
    )
    inst = parse_instance(data)
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    out = plan.to_dict()
    assert_feasible(data, out)
    assert out["totals"]["visits"] == 12 and not out["unassigned"]


def test_day_and_hour_limits_leave_the_rest_unassigned_with_a_reason():
    # One day, at most 3 visits: 5 nearby stops cannot all be placed.
    data = instance(
        scatter(5, SHINJUKU, 1, 3, "c"), [surveyor("s1", SHINJUKU, [1])], [1], max_visits_per_day=3
    )
    inst = parse_instance(data)
    out = solve(inst).to_dict()
    assert len(out["routes"]) == 1 and len(out["routes"][0]["stops"]) == 3
    assert len(out["unassigned"]) == 2
    assert all("訪問枠" in u["reason"] for u in out["unassigned"])
    assert_feasible(data, out)


def test_infeasible_stops_are_unassigned_never_a_crash():
    stops = [
        stop("no-day", *SHINJUKU, days=[3]),  # the surveyor works days 1–2 only
        stop("night", *SETAGAYA, earliest="22:00"),  # outside every working hour
        stop("no-room", *KAWAGUCHI, visits=2, gap_days=30),  # a revisit 30 days later
        stop("ok", *SHINJUKU),
    ]
    data = instance(stops, [surveyor("s1", SHINJUKU, [1, 2])], [1, 2, 3])
    inst = parse_instance(data)
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    reasons = {u.id: (u.reason, u.visits) for u in plan.unassigned}
    assert "勤務日" in reasons["no-day"][0]
    assert "勤務時間" in reasons["night"][0]
    assert reasons["no-room"] == (reasons["no-room"][0], 1) and "間隔" in reasons["no-room"][0]
    assert "ok" not in reasons
    assert_feasible(data, plan.to_dict())


def test_a_trip_too_long_for_trip_max_days_is_cut_with_a_reason():
    far = scatter(20, OSAKA, 3, 5, "o")
    # Trips hold at most 2 days × 4 visits; the surveyor has 2 days for 20 Osaka stops.
    data = instance(
        far, [surveyor("s1", SHINJUKU, [1, 2])], [1, 2], trip_max_days=2, max_visits_per_day=4
    )
    inst = parse_instance(data)
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    assert plan.trips and len(plan.trips[0].days) <= 2
    assert sum(len(r.stops) for r in plan.routes) <= 8
    assert len(plan.unassigned) >= 12 and all("出張" in u.reason for u in plan.unassigned)


def test_the_time_limit_is_honoured():
    data = instance(
        scatter(150, SHINJUKU, 15, 9, "c"),
        [
            surveyor("s1", SHINJUKU, list(range(1, 21))),
            surveyor("s2", KAWAGUCHI, list(range(1, 21))),
        ],
        list(range(1, 21)),
        seconds=1,
    )
    inst = parse_instance(data)
    started = time.perf_counter()
    plan = solve(inst)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, elapsed  # one second asked; some slack for a loaded machine
    assert check_plan(inst, plan) == []
    assert not plan.unassigned


def test_fixed_surveyors_and_fixed_days_are_kept():
    stops = scatter(12, SHINJUKU, 5, 11, "c")
    stops[0]["surveyor"] = "s2"
    stops[1]["fixed_day"] = 3
    data = instance(
        stops, [surveyor("s1", SHINJUKU, [1, 2, 3]), surveyor("s2", SETAGAYA, [1, 2, 3])], [1, 2, 3]
    )
    inst = parse_instance(data)
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    where = {sid: (r.surveyor, r.day) for r in plan.routes for sid in r.stops}
    assert where[stops[0]["id"]][0] == "s2"
    assert where[stops[1]["id"]][1] == 3

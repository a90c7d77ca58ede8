"""Cases near the base are planned before trips take the days, and what cannot be planned
says why: a trip finding no free days is a matter of capacity, not of the day and time
rules (the demo's plan once left every Tokyo case "with no working day meeting the rules"
because the trips of the far cases had taken every day first)."""

from __future__ import annotations

from genchi.planning import check_plan, parse_instance, solve
from genchi.planning.areas import propose
from genchi.planning.campaign import reason_trip_days, reason_window
from genchi.planning.network import Network
from tests.planning.helpers import OSAKA, SENDAI, SHINJUKU, instance, scatter, stop, surveyor

# Far places, each its own trip (more than trip_radius_km apart).
FAR = [OSAKA, SENDAI, (34.3853, 132.4553), (43.0642, 141.3469), (33.5902, 130.4017),
       (36.5613, 136.6562), (34.6551, 133.9195), (37.9161, 139.0364)]  # fmt: skip
WEEKDAYS = [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]


def crowded(weekend: list[int] | None = None) -> dict:
    near = scatter(12, SHINJUKU, 3, 7, "t")
    far = [stop(f"f{i}", lat, lng) for i, (lat, lng) in enumerate(FAR)]
    days = sorted(WEEKDAYS + (weekend or []))
    extra = {"weekend_days": weekend} if weekend else {}
    return instance(
        [dict(s, visits=2, gap_days=3, other_time=True) for s in near + far],
        [surveyor("s1", SHINJUKU, days, end="19:00")],
        days,
        evening_from="17:00",
        max_visits_per_day=10,
        seconds=3,
        **extra,
    )


def test_near_cases_are_planned_before_trips_take_the_days():
    data = crowded()
    inst = parse_instance(data)
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    reasons = {u.id: u.reason for u in plan.unassigned}
    near = [s["id"] for s in data["stops"] if s["id"].startswith("t")]
    # Every case near the base gets both its visits (day and evening, 3+ days apart).
    assert not [sid for sid in near if sid in reasons], reasons
    visits = [sid for r in plan.routes for sid in r.stops]
    assert all(visits.count(sid) == 2 for sid in near)
    # The far cases that did not fit say it is the days, never the day and time rules.
    assert reasons, "eight 2-visit trips cannot fit in ten days"
    assert reason_window() not in reasons.values()
    assert reason_trip_days() in reasons.values()


def test_a_revisit_in_the_evening_out_of_reach_makes_the_case_a_trip():
    # 45 km out: a day route reaches it (under trip_after_minutes), but an evening visit
    # from 17:00 cannot be back at the base by 19:00, and there are no weekend days.
    out_there = (SHINJUKU[0] + 0.40, SHINJUKU[1])
    for weekend, local in ((None, False), ([6], True)):
        data = crowded(weekend)
        data["stops"] = [dict(stop("x", *out_there), visits=2, gap_days=3)]
        net = Network.build(parse_instance(data), None)
        areas = propose(net, [0])
        assert (0 in areas.surveyor_of) is local
        assert bool(areas.trips) is not local

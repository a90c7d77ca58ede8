"""Areas: compact (nearest base while the load allows), balanced, with far stops as trips."""

from __future__ import annotations

from genchi.planning import check_plan, parse_instance, propose_areas, solve
from genchi.planning.cost import haversine_km
from genchi.planning.network import trip_model
from tests.planning.helpers import (
    KAWAGUCHI,
    OSAKA,
    SENDAI,
    SETAGAYA,
    SHINJUKU,
    instance,
    scatter,
    surveyor,
)


def test_two_clusters_go_to_their_nearest_surveyor():
    stops = scatter(20, SETAGAYA, 3, 1, "a") + scatter(20, KAWAGUCHI, 3, 2, "b")
    days = list(range(1, 11))
    inst = parse_instance(
        instance(
            stops, [surveyor("south", SETAGAYA, days), surveyor("north", KAWAGUCHI, days)], days
        )
    )
    areas = propose_areas(inst).to_dict(inst)
    by_sv = {a["surveyor"]: set(a["stops"]) for a in areas["areas"]}
    assert by_sv["south"] == {s["id"] for s in stops[:20]}
    assert by_sv["north"] == {s["id"] for s in stops[20:]}


def test_an_uneven_list_is_balanced_within_the_allowed_spread():
    # 30 stops near one base, 6 near the other: balance moves the nearest ones across.
    stops = scatter(30, SETAGAYA, 4, 3, "a") + scatter(6, KAWAGUCHI, 2, 4, "b")
    days = list(range(1, 11))
    data = instance(
        stops,
        [surveyor("south", SETAGAYA, days), surveyor("north", KAWAGUCHI, days)],
        days,
        balance=0.1,
    )
    inst = parse_instance(data)
    areas = propose_areas(inst).to_dict(inst)
    load = {a["surveyor"]: a["workload_minutes"] for a in areas["areas"]}
    total = sum(load.values())
    assert max(load.values()) <= total / 2 * 1.1 + 20  # one stop's worth of rounding
    moved = {a["surveyor"]: a["stops"] for a in areas["areas"]}["north"]
    # The southern stops that moved north are those costing least extra travel there.
    south_to_north = [sid for sid in moved if sid.startswith("a")]
    assert south_to_north
    points = {s["id"]: (s["lat"], s["lng"]) for s in stops[:30]}
    extra = {
        sid: haversine_km([p], [KAWAGUCHI])[0, 0] - haversine_km([p], [SETAGAYA])[0, 0]
        for sid, p in points.items()
    }
    kept = [sid for sid in extra if sid not in south_to_north]
    mean = lambda ids: sum(extra[i] for i in ids) / len(ids)  # noqa: E731
    assert mean(south_to_north) < mean(kept)


def test_far_stops_become_trips_of_one_surveyor_over_consecutive_days():
    stops = (
        scatter(10, SETAGAYA, 3, 5, "t")
        + scatter(9, OSAKA, 4, 6, "o")
        + scatter(3, SENDAI, 3, 7, "s")
    )
    days = list(range(1, 11))
    inst = parse_instance(
        instance(stops, [surveyor("s1", SETAGAYA, days), surveyor("s2", KAWAGUCHI, days)], days)
    )
    areas = propose_areas(inst).to_dict(inst)
    groups = sorted(sorted(t["stops"]) for t in areas["trips"])
    assert groups == sorted(
        [sorted(s["id"] for s in stops[10:19]), sorted(s["id"] for s in stops[19:])]
    )
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    assert {t.surveyor for t in plan.trips} <= {"s1", "s2"}
    for trip in plan.trips:
        assert list(trip.days) == list(range(trip.days[0], trip.days[-1] + 1))
        # Nobody works from home on a trip day.
        assert not [
            r
            for r in plan.routes
            if r.surveyor == trip.surveyor and r.day in trip.days and r.trip != trip.id
        ]


KYOTO = (35.0116, 135.7681)  # 43 km from Osaka: beyond the 30 km radius of one trip


def test_far_groups_join_into_one_trip_when_that_lowers_travel():
    stops = (
        scatter(6, SETAGAYA, 3, 8, "t")
        + scatter(3, OSAKA, 3, 9, "o")
        + scatter(2, KYOTO, 2, 10, "k")
    )
    days = list(range(1, 11))
    data = instance(stops, [surveyor("s1", SETAGAYA, days)], days)
    inst = parse_instance(data)
    # The radius alone makes two trips, each with its two long legs from Setagaya.
    legs = sum(2 * trip_model(inst).leg(SETAGAYA, centre)[0] for centre in (OSAKA, KYOTO))
    areas = propose_areas(inst).to_dict(inst)
    assert [sorted(t["stops"]) for t in areas["trips"]] == [sorted(s["id"] for s in stops[6:])]
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    assert not plan.unassigned
    (trip,) = plan.trips
    assert list(trip.days) == list(range(trip.days[0], trip.days[-1] + 1))
    assert set(trip.stops) == {s["id"] for s in stops[6:]}
    # One trip, whose days include the drive out to Kyoto, costs less than the two trips'
    # long legs alone would.
    trip_km = trip.km + sum(r.km for r in plan.routes if r.trip == trip.id)
    assert trip_km < legs


def test_far_groups_too_far_apart_stay_separate_trips():
    stops = scatter(3, OSAKA, 3, 11, "o") + scatter(3, SENDAI, 3, 12, "s")
    days = list(range(1, 11))
    inst = parse_instance(instance(stops, [surveyor("s1", SETAGAYA, days)], days))
    areas = propose_areas(inst).to_dict(inst)
    assert sorted(sorted(t["stops"]) for t in areas["trips"]) == [
        sorted(s["id"] for s in stops[:3]),
        sorted(s["id"] for s in stops[3:]),
    ]


def test_workload_follows_each_surveyors_working_days():
    # Every stop is nearer to "near", who works 10 days against the other's 20: near takes
    # stops only up to a third of the workload (and the allowed spread), not half.
    stops = scatter(30, SHINJUKU, 4, 13, "a")
    long_days, short_days = list(range(1, 21)), list(range(1, 11))
    inst = parse_instance(
        instance(
            stops,
            [surveyor("near", SHINJUKU, short_days), surveyor("far", KAWAGUCHI, long_days)],
            long_days,
            balance=0.1,
        )
    )
    areas = propose_areas(inst).to_dict(inst)
    load = {a["surveyor"]: a["workload_minutes"] for a in areas["areas"]}
    total = sum(load.values())
    assert total / 3 * 0.8 <= load["near"] <= total / 3 * 1.1 + 25  # one stop's worth


def test_cases_needing_a_revisit_at_another_time_go_where_it_needs_no_evening_route():
    # Four cases need a revisit at another time, a little nearer to the Monday-to-Friday
    # surveyor (who would have to come back in the evening, an hour that holds only a
    # few visits) than to the one who works Saturdays (a full day for revisits).
    mid = (35.6688, 139.6825)  # 45 % of the way from Shinjuku to Setagaya
    revisits = [dict(s, visits=2) for s in scatter(4, mid, 0.3, 14, "r")]
    singles = scatter(8, SHINJUKU, 1, 15, "s")
    weekend = [6, 13]
    weekdays = [d for d in range(1, 15) if d % 7 not in (6, 0)]
    tue_sat = [d for d in range(1, 15) if d % 7 not in (0, 1)]
    data = instance(
        revisits + singles,
        [surveyor("mon_fri", SHINJUKU, weekdays), surveyor("tue_sat", SETAGAYA, tue_sat)],
        sorted(set(weekdays) | set(tue_sat)),
        weekend_days=weekend,
        balance=0.5,
    )
    inst = parse_instance(data)
    areas = {a["surveyor"]: set(a["stops"]) for a in propose_areas(inst).to_dict(inst)["areas"]}
    assert areas["tue_sat"] == {s["id"] for s in revisits}
    assert areas["mon_fri"] == {s["id"] for s in singles}
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    assert not plan.unassigned

"""Re-planning one surveyor's remaining days keeps done, locked and other people's visits."""

from __future__ import annotations

import dataclasses

from genchi.planning import check_plan, parse_instance, replan, solve
from genchi.planning.instance import DoneVisit
from tests.planning.helpers import SETAGAYA, SHINJUKU, instance, mixed, scatter, surveyor


def campaign():
    stops = scatter(40, SHINJUKU, 10, 21, "c")
    for s in stops[:8]:
        s["visits"] = 2
        s["gap_days"] = 2
    days = list(range(1, 11))
    return instance(
        stops,
        [surveyor("s1", SHINJUKU, days, end="19:00"), surveyor("s2", SETAGAYA, days, end="19:00")],
        days,
        max_visits_per_day=6,
    )


def test_replan_keeps_done_locked_and_other_surveyors():
    inst = parse_instance(campaign())
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    from_day = 4
    mine = [r for r in plan.routes if r.surveyor == "s1"]
    assert any(r.day < from_day for r in mine) and any(r.day >= from_day for r in mine)

    # Results came in for the days before from_day: each planned visit was made, and one
    # case turned out to need a revisit it did not have; one case needs nothing more.
    done: dict = {}
    for r in mine:
        if r.day < from_day:
            for sid, minute in zip(r.stops, r.times, strict=True):
                done.setdefault(sid, []).append(DoneVisit(r.day, minute))
    needs_more = next(sid for sid in done if inst.stop(sid).visits == 1)
    future = [sid for r in mine if r.day >= from_day for sid in r.stops]
    closed = next(sid for sid in future if sid not in done)
    locked_stop = next(sid for sid in future if sid not in done and sid != closed)
    stops = []
    for s in inst.stops:
        if s.id in done:
            s = dataclasses.replace(
                s,
                done=tuple(done[s.id]),
                visits=len(done[s.id])
                + (s.id == needs_more)
                + (s.visits - 1 if s.visits > len(done[s.id]) else 0),
            )
        if s.id == closed:
            s = dataclasses.replace(s, visits=1, done=(DoneVisit(1, 600),))
        stops.append(s)
    now = dataclasses.replace(inst, stops=tuple(stops), _stop_index={})

    new = replan(now, plan, "s1", from_day, locked=[(locked_stop, 9)], seconds=1.0)
    assert check_plan(now, new) == [], check_plan(now, new)[:5]
    # Other surveyors are untouched; s1 has no route before from_day any more.
    assert [r for r in new.routes if r.surveyor == "s2"] == [
        r for r in plan.routes if r.surveyor == "s2"
    ]
    assert all(r.day >= from_day for r in new.routes if r.surveyor == "s1")
    where = {(sid, r.day) for r in new.routes if r.surveyor == "s1" for sid in r.stops}
    assert (locked_stop, 9) in where
    assert not any(sid == closed for sid, _d in where)
    # The case that needs another visit gets it, in another time class, 2+ days later.
    revisit = [d for sid, d in where if sid == needs_more]
    assert len(revisit) == 1 and revisit[0] >= done[needs_more][-1].day + 2
    assert not new.unassigned


def _without(plan, routes):
    out = dataclasses.replace(plan)
    out.routes = [r for r in plan.routes if r not in routes]
    return out


def test_the_day_under_way_keeps_its_route_and_counts_its_visits_as_made():
    """A re-plan from tomorrow with today under way: today's route stays as it was, its
    stops are not planned a second time, and a stop needing a revisit gets it after its
    gap from today."""
    inst = parse_instance(campaign())
    plan = solve(inst)
    mine = sorted((r for r in plan.routes if r.surveyor == "s1"), key=lambda r: r.day)
    today = next(r for r in mine if any(inst.stop(s).visits == 2 for s in r.stops))
    twice = next(s for s in today.stops if inst.stop(s).visits == 2)
    new = replan(inst, plan, "s1", today.day + 1, seconds=1.0, under_way=today.day)
    kept = [r for r in new.routes if r.surveyor == "s1" and r.day <= today.day]
    assert kept == [today]
    later = [r for r in new.routes if r.surveyor == "s1" and r.day > today.day]
    where = [(sid, r.day) for r in later for sid in r.stops]
    for sid in today.stops:
        assert sum(1 for s, _d in where if s == sid) == inst.stop(sid).visits - 1, sid
    assert all(d >= today.day + 2 for s, d in where if s == twice)
    # Without today's route, the rest is a feasible plan of what is left after today.
    after_today = parse_instance(campaign())
    made = {
        sid: (DoneVisit(today.day, m),) for sid, m in zip(today.stops, today.times, strict=True)
    }
    after_today = dataclasses.replace(
        after_today,
        stops=tuple(
            dataclasses.replace(s, done=made[s.id]) if s.id in made else s
            for s in after_today.stops
        ),
        _stop_index={},
    )
    rest = _without(new, [today])
    rest.routes = [r for r in rest.routes if r.surveyor != "s1" or r.day > today.day]
    others_before = [r for r in plan.routes if r.surveyor == "s2"]
    assert [r for r in rest.routes if r.surveyor == "s2"] == others_before
    assert check_plan(after_today, rest) == [], check_plan(after_today, rest)[:5]


def test_a_trip_under_way_is_kept_whole():
    """Today is a day of a trip (出張): the lodging is booked, so the trip and its routes
    from today on stay; the surveyor's other days are planned around them."""
    inst = parse_instance(mixed())
    plan = solve(inst)
    trip = next(t for t in plan.trips)
    days = sorted(r.day for r in plan.routes if r.trip == trip.id)
    today = days[0]
    new = replan(inst, plan, trip.surveyor, today + 1, seconds=1.0, under_way=today)
    assert trip in new.trips
    assert [r for r in new.routes if r.trip == trip.id] == [
        r for r in plan.routes if r.trip == trip.id
    ]
    others = [r for r in new.routes if r.surveyor == trip.surveyor and r.trip != trip.id]
    assert not any(r.day in trip.days for r in others)
    assert all(r.day > today for r in others)

"""Re-planning one surveyor's remaining days keeps done, locked and other people's visits."""

from __future__ import annotations

import dataclasses

from genchi.planning import check_plan, parse_instance, replan, solve
from genchi.planning.instance import DoneVisit
from tests.planning.helpers import SETAGAYA, SHINJUKU, instance, scatter, surveyor


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

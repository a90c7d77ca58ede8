"""check_plan finds each kind of broken rule (so a green feasibility test means something)."""

from __future__ import annotations

import dataclasses

import pytest

from genchi.planning import check_plan, parse_instance, solve
from tests.planning.helpers import mixed


@pytest.fixture(scope="module")
def solved():
    inst = parse_instance(mixed(seed=2))
    plan = solve(inst)
    assert check_plan(inst, plan) == []
    return inst, plan


def broken(solved, change) -> list[str]:
    inst, plan = solved
    copy = dataclasses.replace(
        plan, routes=list(plan.routes), trips=list(plan.trips), unassigned=list(plan.unassigned)
    )
    change(inst, copy)
    return check_plan(inst, copy)


def local_route(plan, at_least=2):
    return next(i for i, r in enumerate(plan.routes) if r.trip is None and len(r.stops) >= at_least)


def test_a_dropped_visit_must_be_listed_as_unassigned(solved):
    def drop(inst, plan):
        i = local_route(plan)
        r = plan.routes[i]
        plan.routes[i] = dataclasses.replace(r, stops=r.stops[:-1], times=r.times[:-1])

    assert any("neither planned nor listed" in p for p in broken(solved, drop))


def test_too_many_visits_on_a_day(solved):
    def crowd(inst, plan):
        i = local_route(plan)
        r = plan.routes[i]
        plan.routes[i] = dataclasses.replace(r, stops=r.stops * 5, times=r.times * 5)

    problems = broken(solved, crowd)
    assert any("max_visits_per_day" in p for p in problems)
    assert any("visits planned" in p for p in problems)


def test_wrong_km_and_a_day_off(solved):
    def tamper(inst, plan):
        i = local_route(plan)
        plan.routes[i] = dataclasses.replace(plan.routes[i], km=plan.routes[i].km + 1, day=7)

    problems = broken(solved, tamper)
    assert any("legs add up" in p for p in problems)
    assert any("not a working day" in p for p in problems)


def test_a_visit_too_early_and_a_late_return(solved):
    def rush(inst, plan):
        i = local_route(plan)
        r = plan.routes[i]
        plan.routes[i] = dataclasses.replace(r, times=(r.depart,) + r.times[1:], back=r.back + 600)

    problems = broken(solved, rush)
    assert any("before the surveyor can be there" in p for p in problems)
    assert any("after the day ends" in p for p in problems)


def test_a_revisit_too_soon_or_at_the_same_time(solved):
    inst, plan = solved
    twice = next(s for s in inst.stops if s.visits == 2 and s.id.startswith("t"))
    routes = [r for r in plan.routes if twice.id in r.stops]
    assert len(routes) == 2

    first_day = min(r.day for r in routes)
    same_class_possible = any(
        (d in inst.weekend_days) == (first_day in inst.weekend_days)
        for d in range(first_day + 1, first_day + twice.gap_days)
    )

    def pull(inst, plan):
        first, second = sorted(routes, key=lambda r: r.day)
        i = plan.routes.index(second)
        k = second.stops.index(twice.id)
        times = list(second.times)
        times[k] = first.times[first.stops.index(twice.id)]
        # A day within the gap that is a weekday when the first visit was (same class).
        day = (
            next(
                d
                for d in range(first.day + 1, first.day + twice.gap_days)
                if (d in inst.weekend_days) == (first.day in inst.weekend_days)
            )
            if same_class_possible
            else first.day + 1
        )
        plan.routes[i] = dataclasses.replace(second, day=day, times=tuple(times))

    problems = broken(solved, pull)
    assert any("closer than" in p for p in problems)
    assert any("same time class" in p for p in problems) or not same_class_possible

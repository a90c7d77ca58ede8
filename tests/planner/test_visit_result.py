"""A visit's result (fieldwork's `visit_result_recorded` signal) is recorded in the plan
and re-plans that surveyor's days from the next day on, keeping the other surveyors."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from genchi.accounts.models import Role
from genchi.fieldwork.signals import visit_result_recorded
from genchi.planner.models import CampaignPlan


def routes_of(row, person_id):
    return [r for r in row.plan["routes"] if r["surveyor"] == person_id]


def first_visit(row, person_id):
    route = routes_of(row, person_id)[0]
    return route, route["stops"][0]


def at(row, day: int, hh: int = 10) -> dt.datetime:
    date = row.date_of(day)
    return timezone.make_aware(dt.datetime(date.year, date.month, date.day, hh, 30))


def send(case, visited_at, needs_revisit, by, capture):
    with capture(execute=True):
        visit_result_recorded.send(
            sender=None, case=case, visited_at=visited_at, needs_revisit=needs_revisit, by=by
        )


def stop_of(row, ref):
    return next(s for s in row.instance["stops"] if s["id"] == ref)


def test_a_result_without_revisit_ends_the_case_and_replans_from_the_next_day(
    planned, cases, people, surveyor2, django_capture_on_commit_callbacks
):
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    send(case, at(planned, route["day"]), False, me, django_capture_on_commit_callbacks)
    new = CampaignPlan.objects.get(contract=planned.contract, current=True)
    assert new.version == 2 and new.kind == "result"
    stop = stop_of(new, ref)
    assert stop["done"] == [{"day": route["day"], "time": "10:30"}]
    assert stop["visits"] == 1  # lowered: no more visits
    assert all(ref not in r["stops"] for r in new.plan["routes"])
    assert all(r["day"] > route["day"] for r in routes_of(new, me.pk))
    # The other surveyor's routes are kept exactly.
    assert routes_of(new, surveyor2.pk) == routes_of(planned, surveyor2.pk)


def test_a_result_that_needs_a_revisit_plans_one_later_at_another_time(
    planned, cases, people, surveyor2, django_capture_on_commit_callbacks
):
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    # Visited in the day (10:30), nobody home: the planned visits become done + 1 at least.
    stop_before = stop_of(planned, ref)
    send(case, at(planned, route["day"]), True, me, django_capture_on_commit_callbacks)
    new = CampaignPlan.objects.get(contract=planned.contract, current=True)
    stop = stop_of(new, ref)
    assert stop["visits"] == max(stop_before["visits"], 2)
    later = [r for r in routes_of(new, me.pk) if ref in r["stops"]]
    assert later, new.plan["unassigned"]
    assert later[0]["day"] >= route["day"] + 7  # gap_days
    # At another time: evening on a weekday or a weekend day.
    first_later = later[0]
    time = first_later["times"][first_later["stops"].index(ref)]
    assert time >= "17:00" or first_later["day"] in new.instance["weekend_days"]
    assert routes_of(new, surveyor2.pk) == routes_of(planned, surveyor2.pk)


def test_a_rolled_back_result_changes_no_plan(
    planned, cases, people, django_capture_on_commit_callbacks
):
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        visit_result_recorded.send(
            sender=None, case=case, visited_at=at(planned, route["day"]), needs_revisit=False, by=me
        )
    assert len(callbacks) == 1  # waits for the commit; never run here
    assert CampaignPlan.objects.get(current=True).pk == planned.pk


def test_a_case_in_no_plan_is_left_alone(cases, people, django_capture_on_commit_callbacks):
    send(cases[0], timezone.now(), False, people[Role.SURVEYOR], django_capture_on_commit_callbacks)
    assert not CampaignPlan.objects.exists()

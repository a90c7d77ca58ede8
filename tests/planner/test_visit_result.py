"""A visit's result (fieldwork's `visit_result_recorded` signal, sent in the visit's
transaction) waits as a `PendingResult` and a background task applies every waiting
result of the contract at once: the visits recorded in the plan, each affected surveyor's
days re-planned once from the next day on, the other surveyors kept, one new version."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork.signals import visit_result_recorded
from genchi.planner import plan_selectors, plans, tasks
from genchi.planner.models import CampaignPlan, PendingResult


def routes_of(row, person_id):
    return [r for r in row.plan["routes"] if r["surveyor"] == person_id]


def first_visit(row, person_id):
    route = routes_of(row, person_id)[0]
    return route, route["stops"][0]


def at(row, day: int, hh: int = 10) -> dt.datetime:
    date = row.date_of(day)
    return timezone.make_aware(dt.datetime(date.year, date.month, date.day, hh, 30))


def send(case, visited_at, needs_revisit, by, capture):
    """One result sent in a transaction that then commits (its callbacks run)."""
    with capture(execute=True):
        visit_result_recorded.send(
            sender=None, case=case, visited_at=visited_at, needs_revisit=needs_revisit, by=by
        )


def case_of(cases, ref):
    return next(c for c in cases if c.case_ref == ref)


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


def test_a_result_synced_days_later_plans_nothing_on_a_day_already_lived(
    planned, cases, people, django_capture_on_commit_callbacks, monkeypatch
):
    """A visit of day d whose result comes up on day d + 3 (a late sync): the surveyor's
    days are planned again from day d + 4, never on the days already lived."""
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    late = planned.date_of(route["day"] + 3)
    monkeypatch.setattr(plans.timezone, "localdate", lambda *a, **k: late)
    send(case, at(planned, route["day"]), False, me, django_capture_on_commit_callbacks)
    new = CampaignPlan.objects.get(contract=planned.contract, current=True)
    assert routes_of(new, me.pk)
    assert all(r["day"] > route["day"] + 3 for r in routes_of(new, me.pk))


def test_todays_route_stays_after_the_first_result_of_the_day(
    planned, cases, people, django_capture_on_commit_callbacks, monkeypatch
):
    """The surveyor is out on today's route: the first result of the day re-plans from
    tomorrow and keeps today's route as it was, so the plan pages and the tablet's next
    sync still show it; its other stops are not planned a second time."""
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    assert len(route["stops"]) > 1
    monkeypatch.setattr(plans.timezone, "localdate", lambda *a, **k: planned.date_of(route["day"]))
    send(
        case_of(cases, ref),
        at(planned, route["day"]),
        False,
        me,
        django_capture_on_commit_callbacks,
    )
    new = CampaignPlan.objects.get(contract=planned.contract, current=True)
    today = [r for r in routes_of(new, me.pk) if r["day"] == route["day"]]
    assert today == [route]
    later = [r for r in routes_of(new, me.pk) if r["day"] > route["day"]]
    assert later and all(r["day"] > route["day"] for r in routes_of(new, me.pk) if r != route)
    needed = {s["id"]: s["visits"] for s in new.instance["stops"]}
    for sid in route["stops"]:
        planned_later = sum(r["stops"].count(sid) for r in later)
        # Today's visit counts as made: at most the visits left after it come later.
        assert planned_later <= needed.get(sid, 0) - 1, sid
    assert ref not in {sid for r in later for sid in r["stops"]}
    # What the plan's day page and the tablet read: today's stops, in the planned order.
    manager = people[Role.MANAGER]
    date = planned.date_of(route["day"])
    day = plan_selectors.day_for(manager, planned.contract, me.pk, date)
    assert [stop["ref"] for stop in day.stops] == route["stops"]


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


def test_a_result_waits_in_the_transaction_and_one_task_is_enqueued_at_commit(
    planned, cases, people, django_capture_on_commit_callbacks
):
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for hh in (10, 11, 12):
            visit_result_recorded.send(
                sender=None,
                case=case,
                visited_at=at(planned, route["day"], hh),
                needs_revisit=True,
                by=me,
            )
    waiting = PendingResult.objects.filter(contract=planned.contract, applied_at__isnull=True)
    assert [(p.case_ref, p.by_id) for p in waiting] == [(ref, me.pk)] * 3
    assert len(callbacks) == 1  # one task for the whole transaction, never run before it
    assert CampaignPlan.objects.get(current=True).pk == planned.pk
    assert plan_selectors.pending_results(planned.contract) == 3


def test_a_rolled_back_visit_leaves_no_pending_result(planned, cases, people):
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        visit_result_recorded.send(
            sender=None, case=case, visited_at=at(planned, route["day"]), needs_revisit=False, by=me
        )
        assert PendingResult.objects.count() == 1
        raise Abandoned
    assert not PendingResult.objects.exists()
    # Nothing waits: the task changes nothing.
    assert plans.apply_visit_results(planned.contract_id) is None
    assert CampaignPlan.objects.get(current=True).pk == planned.pk


def test_ten_results_then_one_task_replan_each_surveyor_once_in_one_version(
    planned, cases, people, surveyor2, django_capture_on_commit_callbacks, monkeypatch
):
    me = people[Role.SURVEYOR]
    calls = []
    real_replan = plans.replan

    def counting(instance, plan, person_id, from_day, **kwargs):
        calls.append((person_id, from_day))
        return real_replan(instance, plan, person_id, from_day, **kwargs)

    monkeypatch.setattr(plans, "replan", counting)
    by_ref = {c.case_ref: c for c in cases}
    planned_refs = [
        (person.pk, ref, route["day"])
        for person in (me, surveyor2)
        for route in routes_of(planned, person.pk)[:1]
        for ref in route["stops"]
    ]
    assert {p for p, _r, _d in planned_refs} == {me.pk, surveyor2.pk}
    sent = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for n in range(10):
            person, ref, day = planned_refs[n % len(planned_refs)]
            visit_result_recorded.send(
                sender=None,
                case=by_ref[ref],
                visited_at=at(planned, day, 9 + n),
                needs_revisit=n % 2 == 0,
                by=me,
            )
            sent.append(ref)
    assert PendingResult.objects.filter(applied_at__isnull=True).count() == 10
    assert len(callbacks) == 1 and calls == []  # nothing re-planned in the request
    for callback in callbacks:
        callback()  # the commit: the task is enqueued (run at once by the test backend)
    new = CampaignPlan.objects.get(contract=planned.contract, current=True)
    assert new.version == 2 and new.kind == "result"
    assert CampaignPlan.objects.filter(contract=planned.contract).count() == 2
    replanned = sorted(p for p, _day in calls)
    assert replanned == sorted({me.pk, surveyor2.pk})  # once each
    first_days = {p: d for p, _r, d in planned_refs}
    assert dict(calls) == {p: d + 1 for p, d in first_days.items()}
    assert not PendingResult.objects.filter(applied_at__isnull=True).exists()
    assert set(PendingResult.objects.values_list("applied_version", flat=True)) == {2}
    for ref in set(sent):
        assert len(stop_of(new, ref)["done"]) == sent.count(ref)
    entries = AuditEntry.objects.filter(action="planner.plan.results_applied")
    assert entries.count() == 1
    assert sorted(entries.get().detail["refs"]) == sorted(sent)
    # A second task finds nothing waiting and does nothing.
    tasks.apply_results.enqueue(planned.contract_id)
    assert CampaignPlan.objects.filter(contract=planned.contract).count() == 2
    assert entries.count() == 1


def test_a_case_in_no_plan_is_left_alone(cases, people, django_capture_on_commit_callbacks):
    send(cases[0], timezone.now(), False, people[Role.SURVEYOR], django_capture_on_commit_callbacks)
    assert not CampaignPlan.objects.exists()
    assert not PendingResult.objects.exists()


def _probe(sql: str, params: list) -> str:
    """Run `sql` on a connection of its own (a thread's): "ok" or the error's class."""
    out: list[str] = []

    def run() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, params)
                cur.fetchall()
            out.append("ok")
        except Exception as exc:  # the lock refused: NOWAIT raises at once
            out.append(type(exc).__name__)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return out[0] if out else "timeout"


def test_the_task_locks_only_the_plan_row_not_the_contract(
    _audit_log_flushable, transactional_db, planned, cases, people, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite has none)")
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    # Kept waiting without the signal's commit callback (which would apply it at once here).
    plans.note_visit_result(case, at(planned, route["day"]), True, me)
    seen: dict[str, str] = {}
    real_replan = plans.replan

    def probing(*args, **kwargs):
        # Inside the task's transaction, while it holds the plan's lock.
        assert connection.in_atomic_block
        seen["contract"] = _probe(
            "SELECT id FROM parties_contract WHERE id = %s FOR KEY SHARE NOWAIT",
            [planned.contract_id],
        )
        seen["plan"] = _probe(
            "SELECT id FROM planner_campaignplan WHERE id = %s FOR UPDATE NOWAIT", [planned.pk]
        )
        return real_replan(*args, **kwargs)

    monkeypatch.setattr(plans, "replan", probing)
    new = plans.apply_visit_results(planned.contract_id)
    assert new is not None and new.version == planned.version + 1
    # Another transaction may still take KEY SHARE on the contract (a deferred foreign key
    # check at its commit), while the plan's row itself is held.
    assert seen == {"contract": "ok", "plan": "OperationalError"}


def test_results_left_waiting_by_a_lost_task_are_applied_by_the_sweep(
    planned, cases, people, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The task was lost (the server stopped between the commit and the enqueue) or
    failed: the worker's sweep applies what waits longer than the grace period, once."""
    from genchi.jobs import sweeps
    from genchi.jobs.models import TaskTicket

    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    real_apply = plans.apply_visit_results
    failures = {"left": 1}

    def failing_once(contract_id):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the re-plan failed")
        return real_apply(contract_id)

    monkeypatch.setattr(plans, "apply_visit_results", failing_once)
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 120
    # Committed: the test backend runs the task at once, and it fails.
    send(case, at(planned, route["day"]), False, me, django_capture_on_commit_callbacks)
    ticket = TaskTicket.objects.get(key=tasks.key_of(planned.contract_id))
    assert ticket.state == "failed" and ticket.last_error == "RuntimeError"
    assert plan_selectors.pending_results(planned.contract) == 1
    assert sweeps.run_sweeps()["planner.apply_results"] == 0  # younger than the grace period
    # Two minutes later: the results are overdue and the wait after the failure is over.
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 0
    assert sweeps.run_sweeps()["planner.apply_results"] == 0
    TaskTicket.objects.update(retry_after=timezone.now())
    assert sweeps.run_sweeps()["planner.apply_results"] == 1
    assert plan_selectors.pending_results(planned.contract) == 0
    new = CampaignPlan.objects.get(contract=planned.contract, current=True)
    assert new.version == 2 and stop_of(new, ref)["done"]
    assert not TaskTicket.objects.exists()
    assert sweeps.run_sweeps()["planner.apply_results"] == 0
    assert CampaignPlan.objects.filter(contract=planned.contract).count() == 2


def test_results_of_a_transaction_while_the_task_waits_in_the_queue_enqueue_nothing_more(
    planned, cases, people, django_capture_on_commit_callbacks, settings
):
    """A contract's task already waits in the queue: a later transaction's results are
    read by it when it runs, so nothing more is enqueued."""
    from genchi.jobs.models import TaskTicket

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = tasks.apply_results.get_backend()
    backend.clear()
    me = people[Role.SURVEYOR]
    route, ref = first_visit(planned, me.pk)
    case = next(c for c in cases if c.case_ref == ref)
    for hh in (10, 11):
        send(case, at(planned, route["day"], hh), True, me, django_capture_on_commit_callbacks)
    assert len(backend.results) == 1
    assert TaskTicket.objects.get().state == "queued"
    assert plan_selectors.pending_results(planned.contract) == 2

"""Keyed tasks and their retries (`genchi.jobs.tickets`, `genchi.jobs.sweeps`): a task of
a key is queued once while it waits, a failed or lost one is enqueued again by a sweep,
never twice at once (two workers on two hosts: PostgreSQL row locks), with a growing
wait, and given up after a bounded number of tries, logged for the operator."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from genchi.audit.models import AuditEntry
from genchi.jobs import runner, sweeps, tickets
from genchi.jobs.models import TaskTicket
from tests.jobs import tasks_for_tests as fake

DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(autouse=True)
def _fresh(settings):
    fake.done.clear()
    fake.failures["left"] = 0
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 0
    settings.GENCHI_TASK_MAX_RETRIES = 3


@pytest.fixture
def sent(monkeypatch):
    """Count what is enqueued again (without enqueueing)."""
    calls: list[tuple] = []
    lock = threading.Lock()

    def counting(task, args, *, key, token, wait_for_commit=False):
        with lock:
            calls.append((task.name, args, key))

    monkeypatch.setattr(runner, "send_after_commit", counting)
    return calls


def ticket(item: str = "a") -> TaskTicket:
    return TaskTicket.objects.get(key=f"item:{item}")


@pytest.mark.django_db
def test_a_keyed_task_waiting_in_the_queue_is_not_enqueued_twice(settings, monkeypatch):
    settings.TASKS = DUMMY
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 120
    backend = fake.flaky.get_backend()
    backend.clear()
    for _ in range(3):  # three transactions while the first task still waits
        with transaction.atomic():
            runner.enqueue_after_commit(fake.flaky, "a", key="item:a")
    assert len(backend.results) == 1
    assert ticket().state == "queued" and ticket().task_id == str(backend.results[0].id)
    # Once it runs, it may have read before a later transaction's rows: enqueued again.
    with tickets.running(fake.flaky, "item:a"):
        runner.enqueue_after_commit(fake.flaky, "a", key="item:a")
        assert len(backend.results) == 2 and ticket().state == "queued"
    assert ticket().state == "queued"  # the run that ended leaves the new attempt's ticket


@pytest.mark.django_db
def test_a_task_that_ends_well_leaves_no_ticket_and_a_failed_one_keeps_its_error():
    runner.enqueue_after_commit(fake.flaky, "a", key="item:a")
    assert fake.done == ["a"] and not TaskTicket.objects.exists()
    fake.failures["left"] = 1
    runner.enqueue_after_commit(fake.flaky, "b", key="item:b")
    failed = ticket("b")
    assert failed.state == "failed" and failed.last_error == "RuntimeError"
    assert fake.done == ["a"]


@pytest.mark.django_db
def test_a_failed_task_is_enqueued_again_by_the_sweep_and_runs_once():
    fake.failures["left"] = 1
    runner.enqueue_after_commit(fake.flaky, "a", key="item:a")
    assert tickets.retry(fake.flaky, "a", key="item:a") == tickets.QUEUED
    assert fake.done == ["a"] and not TaskTicket.objects.exists()


@pytest.mark.django_db
def test_retries_wait_longer_each_time_and_are_bounded(settings, caplog):
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 60
    fake.failures["left"] = 99
    runner.enqueue_after_commit(fake.flaky, "a", key="item:a")
    start = timezone.now()
    # Just failed: the sweep waits the grace period, then doubles the wait at each try.
    assert tickets.retry(fake.flaky, "a", key="item:a", now=start) == tickets.WAITING
    moments = []
    at = start
    for _ in range(3):
        at = ticket().retry_after + dt.timedelta(seconds=1)
        moments.append(at)
        assert tickets.retry(fake.flaky, "a", key="item:a", now=at - dt.timedelta(seconds=2)) == (
            tickets.WAITING
        )
        assert tickets.retry(fake.flaky, "a", key="item:a", now=at) == tickets.QUEUED
    waits = [(b - a).total_seconds() for a, b in zip(moments, moments[1:], strict=False)]
    assert waits[1] > waits[0] >= 120 - 2
    assert ticket().retries == 3 and fake.done == []
    # Too many tries: given up once, logged and in the audit log; then left alone.
    later = ticket().retry_after + dt.timedelta(seconds=1)
    assert tickets.retry(fake.flaky, "a", key="item:a", now=later) == tickets.GAVE_UP
    assert tickets.retry(fake.flaky, "a", key="item:a", now=later) == tickets.GIVEN_UP
    assert ticket().state == "gave_up" and ticket().gave_up_at is not None
    entry = AuditEntry.objects.get(action="jobs.task_gave_up")
    assert entry.detail == {
        "task": fake.flaky.module_path,
        "key": "item:a",
        "retries": 3,
        "error": "RuntimeError",
    }
    assert "given up after 3 retries" in caplog.text
    assert tickets.given_up_keys(fake.flaky) == {"item:a"}


@pytest.mark.django_db
def test_a_task_queued_or_running_is_not_enqueued_again(settings, sent):
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 60
    settings.GENCHI_TASK_LOST_AFTER_SECONDS = 900
    now = timezone.now()
    TaskTicket.objects.create(
        task=fake.flaky.module_path, key="item:a", state="queued", token="t", task_id="x"
    )
    # Queued a moment ago; the immediate backend cannot say more: waits.
    assert tickets.retry(fake.flaky, "a", key="item:a", now=now) == tickets.WAITING
    TaskTicket.objects.update(state="running", started_at=now)
    later = now + dt.timedelta(seconds=300)
    assert tickets.retry(fake.flaky, "a", key="item:a", now=later) == tickets.WAITING
    assert sent == []
    # Running for longer than a task ever takes: its worker died, it is lost.
    lost = now + dt.timedelta(seconds=901)
    assert tickets.retry(fake.flaky, "a", key="item:a", now=lost) == tickets.QUEUED
    assert len(sent) == 1 and ticket().last_error == "lost"
    # Queued without a task id past the grace period: the enqueue after commit never ran.
    TaskTicket.objects.update(task_id="", enqueued_at=lost)
    assert tickets.retry(fake.flaky, "a", key="item:a", now=lost) == tickets.WAITING
    past = ticket().retry_after + dt.timedelta(seconds=1)
    assert tickets.retry(fake.flaky, "a", key="item:a", now=past) == tickets.QUEUED
    assert len(sent) == 2


@pytest.mark.django_db
def test_the_worker_runs_every_registered_sweep_and_one_failing_leaves_the_others(caplog):
    ran = []

    def broken() -> int:
        raise RuntimeError("a sweep's bug")

    def fine() -> int:
        ran.append(1)
        return 2

    saved = dict(sweeps._sweeps)
    try:
        sweeps.register_sweep("test.broken", broken)
        sweeps.register_sweep("test.fine", fine)
        counts = sweeps.run_sweeps()
    finally:
        sweeps._sweeps.clear()
        sweeps._sweeps.update(saved)
    assert counts["test.fine"] == 2 and "test.broken" not in counts and ran == [1]
    assert "sweep test.broken failed" in caplog.text
    # The apps register theirs as they start.
    assert {"tablet.settle", "planner.apply_results"} <= set(sweeps.registered())


def _race(n: int, work) -> list:
    """Run `work()` in `n` threads at once (each its own connection)."""
    barrier = threading.Barrier(n)
    out: list = []
    errors: list = []

    def one() -> None:
        try:
            barrier.wait(10)
            out.append(work())
        except Exception as exc:  # shown by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return out


def test_two_sweeps_at_once_enqueue_once(_audit_log_flushable, transactional_db, sent, settings):
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 60
    out = _race(2, lambda: tickets.retry(fake.flaky, "a", key="item:a"))
    assert len(sent) == 1
    assert sorted(out) in (["busy", "queued"], ["queued", "waiting"])
    assert ticket().state == "queued" and ticket().retries == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks are PostgreSQL's")
def test_a_sweep_skips_a_ticket_another_worker_is_deciding_on(
    _audit_log_flushable, transactional_db, sent, monkeypatch, settings
):
    """Worker A holds the ticket's lock while it decides (held here on purpose); worker B,
    on another connection, skips it instead of waiting or enqueueing too."""
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 60
    TaskTicket.objects.create(task=fake.flaky.module_path, key="item:a", state="failed", token="t")
    deciding = threading.Event()
    release = threading.Event()
    real_backoff = tickets.backoff

    def slow_backoff(retries):
        if threading.current_thread().name == "worker-a":
            deciding.set()
            release.wait(20)
        return real_backoff(retries)

    monkeypatch.setattr(tickets, "backoff", slow_backoff)
    result: list = []

    def worker_a() -> None:
        try:
            result.append(tickets.retry(fake.flaky, "a", key="item:a"))
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker_a, name="worker-a")
    thread.start()
    try:
        assert deciding.wait(20)
        assert tickets.retry(fake.flaky, "a", key="item:a") == tickets.BUSY
    finally:
        release.set()
        thread.join(30)
    assert result == [tickets.QUEUED] and len(sent) == 1
    assert tickets.retry(fake.flaky, "a", key="item:a") == tickets.WAITING
    assert len(sent) == 1
    assert connection.vendor == "postgresql"


def test_the_worker_sweeps_as_it_starts_and_then_periodically(monkeypatch, settings):
    from django.core.management import call_command

    from genchi.jobs.management.commands import worker

    rounds = threading.Semaphore(0)
    ran: list[str] = []
    seen: dict = {}

    def one_round() -> dict:
        ran.append("sweeps")
        rounds.release()
        return {}

    def taking_tasks(*args, **kwargs) -> None:
        # While the worker takes tasks, the side thread sweeps again and again.
        seen["second"] = rounds.acquire(timeout=10) and rounds.acquire(timeout=10)

    settings.GENCHI_SWEEP_INTERVAL_SECONDS = 0.05
    monkeypatch.setattr(worker, "sweep_orphans", lambda: None)
    monkeypatch.setattr(worker.files, "sweep", lambda: None)  # no database in this test
    monkeypatch.setattr(worker.sweeps, "run_sweeps", one_round)
    monkeypatch.setattr(worker, "call_command", taking_tasks)
    monkeypatch.setattr(worker, "DatabaseBackend", object)  # the tests run jobs inline
    call_command("worker")
    assert seen["second"] and len(ran) >= 2
    # Stopped with the worker: no more rounds.
    count = len(ran)
    assert not rounds.acquire(timeout=0.3) or len(ran) <= count + 1

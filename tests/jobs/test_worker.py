"""The job layer with real workers: a killed worker, and two workers at once.

These start `genchi worker` as a subprocess on the real database backend (conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django_tasks import default_task_backend

from genchi.accounts.models import Role
from genchi.audit.chain import _ADVISORY_LOCK_ID as AUDIT_LOCK
from genchi.audit.models import AuditEntry
from genchi.intake import services
from genchi.intake.demo_data import generate, to_csv_bytes
from genchi.intake.models import Case, ImportRun
from genchi.jobs import outcomes
from genchi.jobs.models import JobState

from .conftest import wait_for

ROWS = 1200


@contextmanager
def _storing_held_open() -> Iterator[bool]:
    """On PostgreSQL, hold the audit log's lock: the commit then writes every row and
    waits, inside its transaction, to log its outcome, so the worker is killed with the
    rows written but not committed. SQLite has one writer (its beat waits for that
    transaction too): there the worker is killed while it proves the rows."""
    if connection.vendor != "postgresql":
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [AUDIT_LOCK])
    try:
        yield True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [AUDIT_LOCK])


def _row(run: ImportRun) -> ImportRun:
    run.refresh_from_db()
    return run


def _checked_run(contract, rows: int, seed: int = 5) -> ImportRun:
    data = to_csv_bytes(generate(rows, seed=seed), encoding="cp932")
    run = services.create_run(contract, data, filename="list.csv")
    services.check_run(run)
    assert run.status == ImportRun.Status.CHECKED and run.error_rows == 0, run.message
    return run


def test_a_killed_worker_leaves_nothing_stored_and_the_restarted_job_completes(
    start_worker, contract, people
):
    staff = people[Role.WARD_STAFF]
    run = _checked_run(contract, ROWS)
    worker = start_worker("first")
    with _storing_held_open() as held:
        services.start_commit(run, by=staff)

        def under_way() -> bool:
            row = _row(run)
            assert row.job_state in (JobState.QUEUED, JobState.RUNNING), worker.output()
            if held:  # every row written, the transaction open: kill it there
                return row.job_step == "store" and row.job_done == ROWS
            return row.job_done > 0

        wait_for(under_way, 60, worker.output)
        worker.kill()

    assert Case.objects.count() == 0
    run = _row(run)
    assert run.job_state == JobState.RUNNING and run.status == ImportRun.Status.COMMITTING
    assert not outcomes.interrupt_if_stale(run)  # not yet: its last beat is recent
    wait_for(lambda: _row(run).job_is_stale, 10)
    assert outcomes.interrupt_if_stale(run)
    assert run.job_state == JobState.INTERRUPTED and run.status == ImportRun.Status.CHECKED
    assert AuditEntry.objects.filter(action="intake.import.interrupted").count() == 1
    assert not AuditEntry.objects.filter(action="intake.import.committed").exists()

    second = start_worker("second")
    services.start_commit(run, by=staff)
    wait_for(lambda: _row(run).job_state == JobState.SUCCEEDED, 60, second.output)
    run = _row(run)
    assert run.status == ImportRun.Status.COMMITTED and run.imported_rows == ROWS
    assert Case.objects.count() == ROWS and run.job_attempts == 2
    entry = AuditEntry.objects.get(action="intake.import.committed")
    assert entry.channel == "job" and entry.actor == staff.username
    assert "first-0" not in second.output() and f"#{run.pk}" in second.output()


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="two workers at once need PostgreSQL (SKIP LOCKED); SQLite has one writer",
)
def test_two_workers_take_every_job_exactly_once(start_worker, contract, people):
    staff = people[Role.WARD_STAFF]
    workers = [start_worker("a"), start_worker("b")]
    for worker in workers:
        worker.wait_started()
    runs = []
    for number in range(16):
        data = to_csv_bytes(generate(3, seed=100 + number), encoding="cp932")
        runs.append(services.create_run(contract, data, filename=f"list-{number}.csv"))
    for run in runs:
        services.start_check(run, by=staff)

    def all_done() -> bool:
        return all(_row(r).job_state == JobState.SUCCEEDED for r in runs)

    wait_for(all_done, 90, lambda: "\n".join(w.output() for w in workers))
    taken_by = []
    for run in runs:
        run = _row(run)
        assert run.job_attempts == 1 and run.status == ImportRun.Status.CHECKED
        result = default_task_backend.get_result(run.job_task_id)
        assert len(result.worker_ids) == 1
        taken_by.append(result.worker_ids[0])
        assert (
            AuditEntry.objects.filter(action="intake.import.checked", object_id=str(run.pk)).count()
            == 1
        )
    assert set(taken_by) == {"a-0", "b-1"}, taken_by

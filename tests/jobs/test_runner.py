"""The job layer in one process: outcome, failure, fencing, heartbeat, private folders.

Jobs run at once here (the framework's immediate backend, tests/settings.py); the tests
with real worker processes are in test_worker.py.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.intake import services
from genchi.intake.messages import loads, render
from genchi.intake.models import Case, ImportRun
from genchi.intake.services import imports, runs
from genchi.jobs import files, outcomes, runner
from genchi.jobs.models import JobState
from genchi.transfer.models import HandoverJob
from tests.intake.conftest import csv_bytes, row

from .conftest import wait_for

ROWS = [row(number=str(n), name=f"山田 {n}郎", address=f"東京都世田谷区太子堂4-1-{n}")
        for n in range(1, 6)]  # fmt: skip


def _uploaded(contract) -> ImportRun:
    return services.create_run(contract, csv_bytes(ROWS), filename="list.csv")


def _checked(contract, by) -> ImportRun:
    run = services.start_check(_uploaded(contract), by=by)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED
    return run


@pytest.mark.django_db
def test_a_job_keeps_its_progress_outcome_and_who_asked_on_its_row(contract, people):
    staff = people[Role.WARD_STAFF]
    run = services.start_check(_uploaded(contract), by=staff)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED
    assert run.job_state == JobState.SUCCEEDED and run.job_outcome == "ok"
    assert run.job_attempts == 1 and run.job_task_id and run.job_requested_by == staff
    assert run.job_done == run.job_total == 5 and run.job_percent == 100
    assert run.job_started_at <= run.job_finished_at
    # The job's message is stored as message parts, rendered in the reader's language.
    assert render(loads(run.job_message)) == run.message_text == run.message
    entry = AuditEntry.objects.get(action="intake.import.checked")
    assert (entry.actor, entry.channel) == (staff.username, "job")


@pytest.mark.django_db
def test_a_failing_job_is_marked_failed_logged_and_stores_nothing(
    contract, people, monkeypatch, caplog
):
    staff = people[Role.WARD_STAFF]
    run = _checked(contract, staff)
    write = imports._ProvenRows.write
    who = Case.objects.none().model(name="山田 太郎").name

    def write_then_fail(self, storing):
        write(self, storing)
        raise RuntimeError(f"cannot store {who}")  # a message quoting data

    monkeypatch.setattr(imports._ProvenRows, "write", write_then_fail)
    services.start_commit(run, by=staff)
    run.refresh_from_db()
    assert Case.objects.count() == 0
    # Nothing was stored, so the check still holds: the run can be committed again.
    assert run.job_state == JobState.FAILED and run.status == ImportRun.Status.CHECKED
    assert run.job_message == "処理中にエラーが発生しました。何も保存していません。"
    assert "何も登録していません" in run.message
    entry = AuditEntry.objects.get(action="intake.import.failed")
    assert entry.detail["error"] == "RuntimeError" and entry.channel == "job"
    assert not AuditEntry.objects.filter(action="intake.import.committed").exists()
    # The operator's log names the job and the error's type, never its words.
    assert "RuntimeError" in caplog.text and "山田" not in caplog.text


@pytest.mark.django_db
def test_a_worker_given_up_for_dead_cannot_store_or_revive_its_row(contract, people, monkeypatch):
    staff = people[Role.WARD_STAFF]
    run = _checked(contract, staff)
    check_file = runs.check_file

    def interrupted_meanwhile(*args, **kwargs):
        # While this worker proves the rows, another process finds its heartbeat stale
        # and moves the row on; the worker then stores, and must not.
        ImportRun.objects.filter(pk=run.pk).update(job_state=JobState.INTERRUPTED)
        return check_file(*args, **kwargs)

    monkeypatch.setattr(runs, "check_file", interrupted_meanwhile)
    services.start_commit(run, by=staff)
    run.refresh_from_db()
    assert Case.objects.count() == 0
    assert run.job_state == JobState.INTERRUPTED and run.status == ImportRun.Status.CHECKED
    assert not AuditEntry.objects.filter(action="intake.import.committed").exists()


@pytest.mark.django_db
def test_a_task_for_an_attempt_that_moved_on_does_nothing(contract, people):
    from genchi.intake.tasks import check_import

    run = services.start_check(_uploaded(contract), by=people[Role.WARD_STAFF])
    run.refresh_from_db()
    check_import.call(None, run.pk, "an-older-attempt")
    assert ImportRun.objects.get(pk=run.pk).job_attempts == 1


@pytest.mark.django_db
def test_interrupted_only_once_the_heartbeat_is_stale(contract, settings):
    run = _uploaded(contract)
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.CHECKING,
        job_state=JobState.RUNNING,
        job_token="t",
        job_heartbeat_at=timezone.now() - dt.timedelta(seconds=30),
    )
    run.refresh_from_db()
    settings.GENCHI_JOB_STALE_AFTER_SECONDS = 60
    assert run.job_is_active and not outcomes.interrupt_if_stale(run)
    settings.GENCHI_JOB_STALE_AFTER_SECONDS = 10
    assert not run.job_is_active and outcomes.interrupt_if_stale(run)
    assert run.job_state == JobState.INTERRUPTED and run.status == ImportRun.Status.UPLOADED
    assert not outcomes.interrupt_if_stale(run)  # once
    assert AuditEntry.objects.filter(action="intake.import.interrupted").count() == 1


def test_the_heartbeat_keeps_the_row_fresh_from_its_own_thread(
    _audit_log_flushable, transactional_db, contract, settings
):
    """Outside a transaction (as in a worker) a side thread with its own connection
    writes the heartbeat and the latest progress, throttled to one write per beat."""
    settings.GENCHI_JOB_HEARTBEAT_SECONDS = 0.02
    run = _uploaded(contract)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    ImportRun.objects.filter(pk=run.pk).update(
        job_state=JobState.RUNNING, job_token="t", job_heartbeat_at=long_ago
    )
    run.refresh_from_db()
    job = runner.JobRun(run, "t")
    with job.beating():
        threads = {t.name for t in threading.enumerate()}
        assert f"job-beat-intake.importrun-{run.pk}" in threads
        job.progress(7, 10, "check")
        fresh = wait_for(lambda: ImportRun.objects.filter(pk=run.pk, job_done=7).first(), 10)
        assert fresh.job_heartbeat_at > long_ago and fresh.job_total == 10
    assert f"job-beat-intake.importrun-{run.pk}" not in {t.name for t in threading.enumerate()}


@pytest.mark.django_db
def test_sweep_removes_what_ended_or_abandoned_jobs_left(ward, settings, tmp_path):
    settings.DATA_DIR = tmp_path

    def job(state, beat_age=0.0) -> HandoverJob:
        made = HandoverJob.objects.create(
            direction=HandoverJob.Direction.IMPORT, organisation=ward, kind="cases"
        )
        HandoverJob.objects.filter(pk=made.pk).update(
            job_state=state, job_heartbeat_at=timezone.now() - dt.timedelta(seconds=beat_age)
        )
        (files.private_folder(made, create=True) / "package.genchi.age").write_bytes(b"age")
        return made

    queued = job(JobState.QUEUED)
    interrupted = job(JobState.INTERRUPTED, beat_age=60)
    abandoned = job(JobState.INTERRUPTED, beat_age=settings.GENCHI_JOB_ABANDON_AFTER_SECONDS + 1)
    refused = job(JobState.REFUSED)
    orphan = files.jobs_root() / "transfer.handoverjob-999999"
    orphan.mkdir()
    hour_ago = time.time() - files.UNSEEN_ROW_GRACE_SECONDS - 1
    os.utime(orphan, (hour_ago, hour_ago))
    # A folder whose row is not visible yet may be an upload whose request (on this host
    # or another) has not committed: a worker starting meanwhile leaves it alone.
    uncommitted = files.jobs_root() / "transfer.handoverjob-999998"
    uncommitted.mkdir()
    assert files.sweep() == 3
    assert files.private_folder(queued).is_dir() and files.private_folder(interrupted).is_dir()
    assert not files.private_folder(abandoned).exists()
    assert not files.private_folder(refused).exists() and not orphan.exists()
    assert uncommitted.is_dir()


def test_no_genchi_module_but_the_worker_names_the_database_backend():
    """The backend is the TASKS setting: switching to Redis/RQ must need no code change.
    The health endpoint's queue counts read the database backend's table only when that
    backend is the one configured (and say nothing otherwise)."""
    from pathlib import Path

    import genchi

    root = Path(genchi.__file__).parent
    naming = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        and any(
            line.lstrip().startswith(("import django_tasks_db", "from django_tasks_db"))
            for line in path.read_text().splitlines()
        )
    )
    assert naming == ["jobs/management/commands/worker.py", "jobs/selectors.py"]


@pytest.mark.django_db
def test_the_worker_sweeps_stored_files_no_row_names_as_it_starts(monkeypatch):
    """genchi.core.storedfiles: files a rolled-back transaction left without their row."""
    from django.core.management import call_command

    from genchi.jobs.management.commands import worker

    ran = []
    monkeypatch.setattr(worker, "sweep_orphans", lambda: ran.append("orphans"))
    monkeypatch.setattr(worker.sweeps, "run_sweeps", lambda: ran.append("sweeps"))
    monkeypatch.setattr(worker, "call_command", lambda *a, **k: ran.append("db_worker"))
    monkeypatch.setattr(worker, "DatabaseBackend", object)  # the tests run jobs inline
    call_command("worker", "--batch")
    assert ran == ["orphans", "sweeps", "db_worker"]


def test_the_worker_started_by_serve_yields_the_cpu_to_the_pages(monkeypatch):
    """`genchi serve` starts the worker with --nice 10: background work (a synced visit's
    photos, imports) waits for the CPU behind the requests people wait for."""
    from django.core.management import call_command

    from genchi.core import serving
    from genchi.jobs.management.commands import worker

    niced = []
    monkeypatch.setattr(worker.os, "nice", niced.append)
    monkeypatch.setattr(worker, "sweep_orphans", lambda: None)
    monkeypatch.setattr(worker.sweeps, "run_sweeps", lambda: None)
    monkeypatch.setattr(worker, "call_command", lambda *a, **k: None)
    monkeypatch.setattr(worker, "DatabaseBackend", object)  # the tests run jobs inline
    call_command("worker", "--batch")
    assert niced == []
    call_command("worker", "--batch", "--nice", "10")
    assert niced == [10]
    assert serving.WORKER_COMMAND[-3:] == ["worker", "--nice", "10"]

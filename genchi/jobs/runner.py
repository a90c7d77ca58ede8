"""Running work as jobs: enqueue a task for a row, run it in a worker, keep its row fresh.

- `enqueue(row, task, ...)` marks the row queued under a new attempt token and enqueues the
  task after the transaction commits (a rolled-back request enqueues nothing).
- `run(context, Model, pk, token, work)` is what a task function calls in the worker: it
  claims the row for this attempt, acts as the person who asked, keeps the row's
  heartbeat and progress fresh from a side thread (throttled writes, counts only), and
  records a failure with a Japanese message and an audit entry. `work(row, job)` does the
  feature's own work and ends it with `job.finish(...)` inside its storing transaction.
- `outcomes.interrupt_if_stale(row)` tells a row whose worker died (no heartbeat for
  `GENCHI_JOB_STALE_AFTER_SECONDS`) as interrupted; the feature then offers to start it
  again (`enqueue` once more).

Every write to a job's columns is a conditional update fenced by the attempt's token, so
a worker that was given up for dead can never finish or revive a row that moved on.
Nothing here knows a task backend: which one runs the tasks is the `TASKS` setting.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation

from genchi.core.acting import Actor, acting_as

from . import tickets
from .models import JobRow, JobState
from .outcomes import mark_failed

logger = logging.getLogger("genchi.jobs")

Row = TypeVar("Row", bound=JobRow)


class JobLost(Exception):
    """This attempt no longer owns its row (it was found interrupted and moved on)."""


class JobFailed(Exception):
    """Raised to the task framework when a job failed; says which row, never why in data."""


def _label(row_or_model: Any) -> str:
    return row_or_model._meta.label_lower


def heartbeat_seconds() -> float:
    return float(settings.GENCHI_JOB_HEARTBEAT_SECONDS)


# --- enqueue ---------------------------------------------------------------------------


def enqueue(row: JobRow, task: Any, *args: Any, by=None, step: str = "") -> str:
    """Mark `row` queued for a new attempt and enqueue `task(row.pk, token, *args)` once
    the transaction commits. Returns the attempt's token."""
    token = uuid.uuid4().hex
    fields = {
        "job_state": JobState.QUEUED,
        "job_step": step,
        "job_done": 0,
        "job_total": 0,
        "job_token": token,
        "job_task_id": "",
        "job_enqueued_at": timezone.now(),
        "job_started_at": None,
        "job_heartbeat_at": None,
        "job_finished_at": None,
        "job_outcome": "",
        "job_message": "",
        "job_language": (translation.get_language() or settings.LANGUAGE_CODE)[:8],
    }
    if by is not None:
        fields["job_requested_by"] = by if getattr(by, "pk", None) else None
    type(row).objects.filter(pk=row.pk).update(**fields)
    for name, value in fields.items():
        setattr(row, name, value)
    pk = row.pk

    enqueue_after_commit(task, pk, token, *args)
    return token


def enqueue_after_commit(task, *args, key: str = "", wait_for_commit: bool = False) -> None:
    """Enqueue `task` once the current transaction commits (a worker must not see rows
    that may still roll back). In the tests the immediate backend runs it here, since a
    test's transaction never commits, unless `wait_for_commit`.

    With a `key` (ids naming the item the task works on, e.g. "contract:5"), a task of the
    same kind and key that waits in the queue is not enqueued twice, and the sweeps
    enqueue it again if it fails or is lost (`tickets`); the task runs its work inside
    `tickets.running(task, key)`."""
    if not key:

        def send() -> None:
            task.enqueue(*args)

        if settings.GENCHI_JOBS_ENQUEUE_ON_COMMIT or wait_for_commit:
            transaction.on_commit(send, robust=False)
        else:
            send()
        return
    token = tickets.hold(task, key)
    if token is not None:
        send_after_commit(task, args, key=key, token=token, wait_for_commit=wait_for_commit)


def send_after_commit(
    task, args: tuple, *, key: str, token: str, wait_for_commit: bool = False
) -> None:
    """Enqueue a keyed task after the commit; a failure to enqueue is logged and left to
    the sweeps (its ticket stays queued without a task id: lost after the grace period)."""

    def send() -> None:
        try:
            result = task.enqueue(*args)
        except Exception:
            logger.exception("enqueueing %s %s failed; the sweep tries again", task.name, key)
            return
        tickets.note_task_id(task, key, token, result)

    if settings.GENCHI_JOBS_ENQUEUE_ON_COMMIT or wait_for_commit:
        transaction.on_commit(send)
    else:
        send()


# --- run -------------------------------------------------------------------------------


class JobRun:
    """The handle a job's work gets: report progress, then finish in its storing step."""

    def __init__(self, row: JobRow, token: str) -> None:
        self.row = row
        self.token = token
        self._model = type(row)
        self._lock = threading.Lock()
        self._progress = (0, 0, row.job_step)
        self._written: tuple[int, int, str] | None = None
        self._lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_direct = 0.0

    def _fenced(self):
        return self._model.objects.filter(
            pk=self.row.pk, job_token=self.token, job_state=JobState.RUNNING
        )

    # Progress: kept in memory, written by the beat (one write per interval at most).
    def progress(self, done: int, total: int, step: str | None = None) -> None:
        if self._lost:
            raise JobLost
        with self._lock:
            self._progress = (int(done), int(total), self._progress[2] if step is None else step)
        if self._thread is None:
            self._beat_directly()

    def step(self, name: str, total: int = 0) -> None:
        self.progress(0, total, name)

    def _write_beat(self) -> None:
        with self._lock:
            done, total, step = self._progress
        fields: dict[str, Any] = {"job_heartbeat_at": timezone.now()}
        if self._written != (done, total, step):
            fields.update(job_done=done, job_total=max(total, done), job_step=step)
        if self._fenced().update(**fields) == 0:
            self._lost = True
        else:
            self._written = (done, total, step)

    def _beat_directly(self) -> None:
        # Inside a transaction (tests, or the immediate backend in a request) a second
        # connection could not see the row: write on this one, throttled the same way.
        now = time.monotonic()
        if now - self._last_direct >= heartbeat_seconds():
            self._last_direct = now
            self._write_beat()

    def _beat_loop(self) -> None:
        try:
            while not self._stop.wait(heartbeat_seconds()):
                try:
                    self._write_beat()
                except Exception:  # a busy database (SQLite's writer lock): beat again later
                    logger.debug("heartbeat skipped", exc_info=True)
        finally:
            from django.db import connection as own

            own.close()

    @contextmanager
    def beating(self):
        """Keep the row's heartbeat and progress fresh while the block runs: from a side
        thread with its own connection, so a long step (or the worker's storing
        transaction) does not silence it."""
        if connection.in_atomic_block:
            yield self
            return
        self._thread = threading.Thread(
            target=self._beat_loop, name=f"job-beat-{_label(self.row)}-{self.row.pk}", daemon=True
        )
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def finish(
        self,
        *,
        state: str = JobState.SUCCEEDED,
        outcome: str = "ok",
        message: str = "",
        **fields: Any,
    ) -> None:
        """End the job (call it inside the step's transaction, with what it stored)."""
        with self._lock:
            done, total, step = self._progress
        changed = self._fenced().update(
            job_state=state,
            job_outcome=outcome[:32],
            job_message=message,
            job_finished_at=timezone.now(),
            job_heartbeat_at=timezone.now(),
            job_done=max(done, total),
            job_total=max(done, total),
            job_step=step,
            **fields,
        )
        if not changed:
            raise JobLost
        self.row.job_state = state
        self.row.job_outcome = outcome[:32]
        self.row.job_message = message


def _claim(model: type[Row], pk: int, token: str, task_id: str) -> Row | None:
    now = timezone.now()
    claimed = model.objects.filter(pk=pk, job_token=token, job_state=JobState.QUEUED).update(
        job_state=JobState.RUNNING,
        job_started_at=now,
        job_heartbeat_at=now,
        job_task_id=str(task_id)[:64],
        job_attempts=F("job_attempts") + 1,
    )
    if not claimed:
        return None
    return model.objects.get(pk=pk)


def _actor(row: JobRow) -> Actor:
    user = row.job_requested_by
    if user is None:
        return Actor(channel="job")
    org = getattr(user, "organisation", None)
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        organisation_code=org.code if org else "",
        channel="job",
    )


def run(context: Any, model: type[Row], pk: int, token: str, work: Callable[[Row, JobRun], Any]):
    """Run one attempt of a row's job in this worker (see the module's docstring)."""
    task_id = getattr(getattr(context, "task_result", None), "id", "") or ""
    label = f"{_label(model)} #{pk}"
    row = _claim(model, pk, token, task_id)
    if row is None:
        logger.info("job %s: not taken (no longer queued for this attempt)", label)
        return None
    logger.info("job %s: taken (attempt %d, task %s)", label, row.job_attempts, task_id)
    job = JobRun(row, token)
    language = row.job_language or settings.LANGUAGE_CODE
    with acting_as(_actor(row)), translation.override(language), job.beating():
        try:
            work(row, job)
        except JobLost:
            logger.warning("job %s: given up for dead meanwhile; its work was undone", label)
            return None
        except Exception as exc:
            mark_failed(row, token, exc)
            raise JobFailed(f"{label}: {type(exc).__name__}") from None
    logger.info("job %s: %s", label, row.job_state or "ended")
    return None

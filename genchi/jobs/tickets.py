"""Tasks enqueued under a key, and their retries by the sweeps.

Some background work is not a job with a row and a page (`runner.enqueue`), but an
item an app must get done: a tablet visit to record, the visits' results waiting for the
plan. Such a task is enqueued under a key naming the item (`enqueue_after_commit(task,
*args, key=...)`): the jobs layer keeps a `TaskTicket` for (task, key) in the caller's
transaction, so

- a task of the same key that is queued and not started yet is not enqueued twice (it
  will see what this transaction commits: its start waits for this transaction's lock
  on the ticket);
- the task marks its ticket running as it starts (`running(task, key)`), deletes it when
  it ends well and marks it failed when it raises;
- a sweep (`genchi.jobs.sweeps`) that finds the app's item still not done after the grace
  period calls `retry(task, *args, key=...)`: the task is enqueued again unless a task of
  the key is queued or running, with a growing wait between tries, and after
  `GENCHI_TASK_MAX_RETRIES` tries the ticket is marked given up, logged and written to
  the audit log, and the sweep leaves it for the operator.

Each decision is taken under the ticket's row lock (the sweep skips a ticket another
worker is deciding on), so two workers on two hosts never enqueue the same retry twice.
Tickets hold a task's path, a key of ids and an exception's type: never data.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from genchi.audit.chain import record
from genchi.core.acting import Actor

from .models import TaskTicket

logger = logging.getLogger("genchi.jobs")

State = TaskTicket.State

# What `retry` did.
QUEUED = "queued"  # enqueued again
WAITING = "waiting"  # a task of the key is queued or running, or the backoff is not over
BUSY = "busy"  # another worker is deciding on it right now
GAVE_UP = "gave_up"  # too many tries: given up now (logged)
GIVEN_UP = "given_up"  # given up before


def grace() -> dt.timedelta:
    """How long an item may wait for its task before a sweep tries again."""
    return dt.timedelta(seconds=float(settings.GENCHI_TASK_RETRY_GRACE_SECONDS))


def lost_after() -> dt.timedelta:
    """A task said running (or queued, where the backend cannot tell) for longer than
    this is taken for lost: its worker died."""
    return dt.timedelta(seconds=float(settings.GENCHI_TASK_LOST_AFTER_SECONDS))


def max_retries() -> int:
    return int(settings.GENCHI_TASK_MAX_RETRIES)


def backoff(retries: int) -> dt.timedelta:
    """The least wait before the next try once `retries` tries were enqueued again: the
    grace period, doubled with each try (2, 4, 8, 16, 32 minutes by default)."""
    return grace() * (2 ** min(retries, 16))


def path_of(task: Any) -> str:
    return task.module_path


def _token() -> str:
    return uuid.uuid4().hex


def _locked(path: str, key: str, *, skip_locked: bool = False) -> TaskTicket | None:
    return (
        TaskTicket.objects.select_for_update(of=("self",), no_key=True, skip_locked=skip_locked)
        .filter(task=path, key=key)
        .first()
    )


def _backend_status(task: Any, task_id: str) -> str | None:
    """The task framework's status of a task result, or None when the backend cannot say
    (the immediate backend keeps no results; a pruned result)."""
    if not task_id:
        return None
    try:
        return str(task.get_result(task_id).status)
    except Exception:  # not supported, gone, or another task's id: it cannot say
        return None


def _lost(task: Any, ticket: TaskTicket, now: dt.datetime) -> bool:
    """A queued ticket whose task will never start: the process ended between the commit
    and the enqueue (no task id), or the backend ran or runs it and it never took its
    ticket (a worker killed before the task's first statement)."""
    age = now - ticket.enqueued_at
    if age < grace():
        return False
    if not ticket.task_id:
        return True
    status = _backend_status(task, ticket.task_id)
    if status is None:
        return age > lost_after()
    return status != "READY"


def hold(task: Any, key: str) -> str | None:
    """In the caller's transaction: queue the ticket of (task, key) for a new attempt and
    return its token, or None when a task of the key waits in the queue already."""
    path = path_of(task)
    now = timezone.now()
    with transaction.atomic():
        ticket = _locked(path, key)
        if ticket is None:
            token = _token()
            try:
                with transaction.atomic():
                    TaskTicket.objects.create(
                        task=path, key=key, state=State.QUEUED, token=token, enqueued_at=now
                    )
                return token
            except IntegrityError:  # another transaction made it meanwhile: take that one
                ticket = _locked(path, key)
                if ticket is None:
                    return None
        if ticket.state == State.QUEUED and not _lost(task, ticket, now):
            return None
        # Running (it may have read before this transaction's rows), failed or given up:
        # this is new work, a new attempt with its tries counted afresh.
        token = _token()
        TaskTicket.objects.filter(pk=ticket.pk).update(
            state=State.QUEUED,
            token=token,
            task_id="",
            enqueued_at=now,
            started_at=None,
            retries=0,
            retry_after=None,
            last_error="",
            gave_up_at=None,
        )
        return token


def note_task_id(task: Any, key: str, token: str, result: Any) -> None:
    """The task framework's id of the enqueued task (read by `_lost`)."""
    task_id = str(getattr(result, "id", "") or "")[:64]
    if task_id:
        TaskTicket.objects.filter(
            task=path_of(task), key=key, token=token, state=State.QUEUED
        ).update(task_id=task_id)


@contextmanager
def running(task: Any, key: str) -> Iterator[None]:
    """Around a keyed task's work, in the worker: its ticket running, then deleted (done)
    or failed (the exception's type kept, the sweep tries again after the backoff). A run
    with no ticket (enqueued without a key) just runs."""
    path = path_of(task)
    with transaction.atomic():
        ticket = _locked(path, key)
        if ticket is not None:
            TaskTicket.objects.filter(pk=ticket.pk).update(
                state=State.RUNNING, started_at=timezone.now()
            )
    if ticket is None:
        yield
        return
    fenced = TaskTicket.objects.filter(pk=ticket.pk, token=ticket.token, state=State.RUNNING)
    try:
        yield
    except BaseException as exc:
        # Not before the wait the sweep set when it enqueued this try.
        wait = timezone.now() + backoff(ticket.retries)
        if ticket.retry_after is not None:
            wait = max(wait, ticket.retry_after)
        fenced.update(state=State.FAILED, last_error=type(exc).__name__[:64], retry_after=wait)
        raise
    # Enqueued again while it ran (the token moved on): that attempt stays.
    fenced.delete()


def retry(task: Any, *args: Any, key: str, contract: Any = None, now=None) -> str:
    """A sweep found the item of `key` still not done after the grace period: enqueue
    `task(*args)` again unless a task of the key is queued or running, the backoff is not
    over, or too many tries failed (then give up, once, logged). Returns what it did."""
    path = path_of(task)
    now = now or timezone.now()
    give_up = None
    with transaction.atomic():
        ticket = _locked(path, key, skip_locked=True)
        if ticket is None:
            if TaskTicket.objects.filter(task=path, key=key).exists():
                return BUSY  # locked: another worker decides on it
            try:
                with transaction.atomic():
                    # Enqueued before tickets existed, or its ticket pruned: its one try
                    # is over, so this is the first retry.
                    ticket = TaskTicket.objects.create(
                        task=path, key=key, state=State.FAILED, token=_token(), enqueued_at=now
                    )
            except IntegrityError:
                return BUSY
        if ticket.state == State.GAVE_UP:
            return GIVEN_UP
        if ticket.state == State.QUEUED and not _lost(task, ticket, now):
            return WAITING
        if ticket.state == State.RUNNING and ticket.started_at > now - lost_after():
            return WAITING
        if ticket.retry_after is not None and ticket.retry_after > now:
            return WAITING
        if ticket.state != State.FAILED:
            ticket.last_error = ticket.last_error or "lost"
        if ticket.retries >= max_retries():
            give_up = ticket
        else:
            _enqueue_again(task, args, ticket, now)
            return QUEUED
    # Given up outside the ticket's lock: the audit log's lock first, as every writer
    # holding a ticket's lock took it (no two locks taken in opposite orders).
    return GAVE_UP if _give_up(give_up, contract, now) else BUSY


def _enqueue_again(task: Any, args: tuple, ticket: TaskTicket, now: dt.datetime) -> None:
    from .runner import send_after_commit

    path, key = ticket.task, ticket.key
    token = _token()
    retries = ticket.retries + 1
    TaskTicket.objects.filter(pk=ticket.pk).update(
        state=State.QUEUED,
        token=token,
        task_id="",
        enqueued_at=now,
        started_at=None,
        retries=retries,
        retry_after=now + backoff(retries),
        last_error=ticket.last_error,
    )
    logger.warning("task %s %s: enqueued again (try %d)", path, key, retries + 1)
    send_after_commit(task, args, key=key, token=token)


class _Moved(Exception):
    """The ticket changed between the decision and the change: undo the entry."""


def _give_up(ticket: TaskTicket, contract: Any, now: dt.datetime) -> bool:
    """Mark the ticket given up with its audit entry, unless it moved on meanwhile (then
    nothing, and False)."""
    try:
        with transaction.atomic():
            record(
                "jobs.task_gave_up",
                object_type=TaskTicket._meta.label_lower,
                object_id=ticket.pk,
                contract=contract,
                detail={
                    "task": ticket.task,
                    "key": ticket.key,
                    "retries": ticket.retries,
                    "error": ticket.last_error,
                },
                actor=Actor(channel="job"),
            )
            changed = TaskTicket.objects.filter(
                pk=ticket.pk, token=ticket.token, state=ticket.state, retries=ticket.retries
            ).update(state=State.GAVE_UP, gave_up_at=now, last_error=ticket.last_error)
            if not changed:
                raise _Moved
    except _Moved:
        return False
    logger.error(
        "task %s %s: given up after %d retries (%s)",
        ticket.task,
        ticket.key,
        ticket.retries,
        ticket.last_error or "?",
    )
    return True


def resume_given_up() -> int:
    """The operator fixed the cause: the given-up tickets get their tries again (the
    sweeps retry their items at their next round), logged. How many."""
    resumed = 0
    for ticket in TaskTicket.objects.filter(state=State.GAVE_UP):
        try:
            with transaction.atomic():  # the audit log's lock first, then the ticket's
                record(
                    "jobs.task_retry_resumed",
                    object_type=TaskTicket._meta.label_lower,
                    object_id=ticket.pk,
                    detail={"task": ticket.task, "key": ticket.key, "retries": ticket.retries},
                )
                changed = TaskTicket.objects.filter(pk=ticket.pk, state=State.GAVE_UP).update(
                    state=State.FAILED, retries=0, retry_after=None, gave_up_at=None
                )
                if not changed:
                    raise _Moved
        except _Moved:
            continue
        resumed += 1
    return resumed


def given_up_keys(task: Any) -> set[str]:
    """The keys of `task` given up: a sweep passes over their items."""
    return set(
        TaskTicket.objects.filter(task=path_of(task), state=State.GAVE_UP).values_list(
            "key", flat=True
        )
    )


def prune(now=None) -> int:
    """Forget tickets of items done otherwise long ago (a failed ticket whose item was
    settled by other means); given-up tickets stay for the operator."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=7)
    deleted, _ = (
        TaskTicket.objects.exclude(state=State.GAVE_UP).filter(enqueued_at__lt=cutoff).delete()
    )
    return deleted

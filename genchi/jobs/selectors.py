"""Reads about the job queue, for the health endpoint (no personal data: counts only)."""

from __future__ import annotations

from django.conf import settings

DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"


def queue_counts() -> dict[str, int] | None:
    """Tasks waiting and running, when jobs go through the database; None for another
    backend (its own tools show its queue)."""
    if settings.TASKS["default"]["BACKEND"] != DATABASE_BACKEND:
        return None
    from django_tasks_db.models import DBTaskResult, TaskResultStatus

    return {
        "waiting": DBTaskResult.objects.filter(status=TaskResultStatus.READY).count(),
        "running": DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count(),
    }


def tasks_given_up() -> int:
    """Background tasks of items the sweeps gave up on (`tickets`): the operator looks
    at the worker's log and the audit log (`jobs.task_gave_up`)."""
    from .models import TaskTicket

    return TaskTicket.objects.filter(state=TaskTicket.State.GAVE_UP).count()

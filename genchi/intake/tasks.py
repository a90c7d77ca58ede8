"""The intake's jobs: checking and committing an import run, in a worker (genchi.jobs)."""

from __future__ import annotations

from django_tasks import task

from genchi.jobs import runner

from .models import ImportRun
from .services import runs


@task(takes_context=True)
def check_import(context, run_id: int, token: str) -> None:
    runner.run(context, ImportRun, run_id, token, lambda run, job: runs.check_run(run, job=job))


@task(takes_context=True)
def commit_import(context, run_id: int, token: str, exclude_error_rows: bool) -> None:
    runner.run(
        context,
        ImportRun,
        run_id,
        token,
        lambda run, job: runs.commit_run(run, exclude_error_rows=exclude_error_rows, job=job),
    )

"""The handover's jobs: writing a package (ward) and importing one (contractor)."""

from __future__ import annotations

from django_tasks import task

from genchi.jobs import runner

from .models import HandoverJob
from .services import handover_jobs


@task(takes_context=True)
def export_package(context, job_id: int, token: str) -> None:
    runner.run(context, HandoverJob, job_id, token, handover_jobs.export_job)


@task(takes_context=True)
def import_package(context, job_id: int, token: str) -> None:
    runner.run(context, HandoverJob, job_id, token, handover_jobs.import_job)

"""The fieldwork app's jobs: closing a survey (report and result packages)."""

from __future__ import annotations

from django_tasks import task

from genchi.jobs import runner

from .models import SurveyClosing


@task(takes_context=True)
def close_survey(context, closing_id: int, token: str) -> None:
    from .closing import closing_job

    runner.run(context, SurveyClosing, closing_id, token, closing_job)

"""The compliance app's jobs: the audit log's tamper check."""

from __future__ import annotations

from django_tasks import task

from genchi.jobs import runner

from .models import ChainCheck


@task(takes_context=True)
def check_chain(context, check_id: int, token: str) -> None:
    from .services import run_chain_check

    runner.run(context, ChainCheck, check_id, token, run_chain_check)

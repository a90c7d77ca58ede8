"""Writes of the compliance app: asking for and storing the audit log's tamper check."""

from __future__ import annotations

from django.db import transaction

from genchi.audit import chain
from genchi.core.dbstats import refresh_statistics
from genchi.jobs import runner
from genchi.jobs.outcomes import interrupt_if_stale

from .models import ChainCheck


def request_chain_check(*, by) -> ChainCheck:
    """Queue a tamper check for the worker, unless one is already waiting or under way
    (then that one is the answer: two at once would only repeat each other)."""
    from . import tasks

    with transaction.atomic():
        active = ChainCheck.objects.exclude(job_state="").filter(job_finished_at=None).first()
        if active is not None and not interrupt_if_stale(active) and active.job_is_active:
            return active
        check = ChainCheck.objects.create()
        chain.record("audit.check_requested", obj=check)
        runner.enqueue(check, tasks.check_chain, by=by, step="verify")
    return check


def run_chain_check(check: ChainCheck, job: runner.JobRun) -> None:
    """The job's work: verify everything, then store the result with its log entry."""
    result = chain.verify()
    problems = [problem.text for problem in result.problems]
    with transaction.atomic():
        job.finish(
            outcome="ok" if result.ok else "tampered",
            ok=result.ok,
            entry_count=result.count,
            head_hash=result.head_hash,
            problems=problems,
        )
        chain.record(
            "audit.checked",
            obj=check,
            detail={"ok": result.ok, "entries": result.count, "problems": problems},
        )
    # The log has grown since the last check: the audit page plans from fresh figures.
    # After the result is stored, so a check that could not store it changed nothing.
    refresh_statistics()

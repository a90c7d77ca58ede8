"""What the planner does when fieldwork tells it something (connected in apps.ready).

`visit_result_recorded` (genchi.fieldwork.signals), sent in the transaction that records
the visit: the result is kept waiting (`PendingResult`) in that same transaction, so a
rolled-back visit leaves none, and once it commits one background task
(`tasks.apply_results`) is enqueued for the contract: enqueued under the contract's key
(`genchi.jobs.runner.enqueue_after_commit`), so a transaction recording many results, or
several while the contract's task still waits in the queue, enqueue it once. The task
writes the visits into the plan and re-plans the surveyors' remaining days, out of the
request (a tablet sending 50 visits does not wait for 50 re-plans). A failure here is
logged and never breaks the sender's save; results left waiting are applied by the
worker's sweep (`tasks.sweep_waiting_results`).
"""

from __future__ import annotations

import logging

from django.db import transaction

from genchi.jobs import runner

logger = logging.getLogger("genchi.planner")


def on_visit_result(sender, *, case, visited_at, needs_revisit, by=None, **kwargs) -> None:
    from . import tasks
    from .plans import note_visit_result

    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the sender's save
            noted = note_visit_result(case, visited_at, bool(needs_revisit), by)
            if noted is not None:
                runner.enqueue_after_commit(
                    tasks.apply_results,
                    case.contract_id,
                    key=tasks.key_of(case.contract_id),
                    wait_for_commit=True,  # one task for all the transaction records
                )
    except Exception:
        logger.exception("keeping the result of case %s for the plan failed", case.pk)


def connect() -> None:
    from genchi.fieldwork.signals import visit_result_recorded

    visit_result_recorded.connect(on_visit_result, dispatch_uid="planner.on_visit_result")

"""What the planner does when fieldwork tells it something (connected in apps.ready).

`visit_result_recorded` (genchi.fieldwork.signals), sent in the transaction that records
the visit: the result is kept waiting (`PendingResult`) in that same transaction, so a
rolled-back visit leaves none, and once it commits one background task
(`tasks.apply_results`) is enqueued for the contract. The task writes the visits into the
plan and re-plans the surveyors' remaining days, out of the request (a tablet sending 50
visits does not wait for 50 re-plans). A failure here is logged and never breaks the
sender's save.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction

logger = logging.getLogger("genchi.planner")


class _EnqueueApply:
    """The on-commit callback of one transaction and contract (found again by `_queued`,
    so a transaction recording many results enqueues one task)."""

    def __init__(self, contract_id: int) -> None:
        self.contract_id = contract_id

    def __call__(self) -> None:
        from .tasks import apply_results

        try:
            apply_results.enqueue(self.contract_id)
        except Exception:
            logger.exception("applying visit results of contract %s failed", self.contract_id)


def _queued(contract_id: int) -> bool:
    return any(
        isinstance(callback, _EnqueueApply) and callback.contract_id == contract_id
        for _savepoints, callback, _robust in connection.run_on_commit
    )


def on_visit_result(sender, *, case, visited_at, needs_revisit, by=None, **kwargs) -> None:
    from .plans import note_visit_result

    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the sender's save
            noted = note_visit_result(case, visited_at, bool(needs_revisit), by)
    except Exception:
        logger.exception("keeping the result of case %s for the plan failed", case.pk)
        return
    if noted is not None and not _queued(case.contract_id):
        transaction.on_commit(_EnqueueApply(case.contract_id))


def connect() -> None:
    from genchi.fieldwork.signals import visit_result_recorded

    visit_result_recorded.connect(on_visit_result, dispatch_uid="planner.on_visit_result")

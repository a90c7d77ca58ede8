"""What the planner does when fieldwork tells it something (connected in apps.ready).

`visit_result_recorded` (genchi.fieldwork.signals): the visit is recorded in the current
plan's instance as done, the visits the case still needs are lowered (no revisit needed)
or raised (a revisit is needed), and the surveyor's remaining days from the next day on
are planned again — after the sender's transaction commits, so a rolled-back result
changes no plan. A failure here is logged and never breaks the sender's save.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger("genchi.planner")


def on_visit_result(sender, *, case, visited_at, needs_revisit, by=None, **kwargs) -> None:
    def replan_now() -> None:
        from .plans import record_visit_result

        try:
            record_visit_result(case, visited_at, bool(needs_revisit), by)
        except Exception:
            logger.exception("re-planning after the result of case %s failed", case.pk)

    transaction.on_commit(replan_now)


def connect() -> None:
    from genchi.fieldwork.signals import visit_result_recorded

    visit_result_recorded.connect(on_visit_result, dispatch_uid="planner.on_visit_result")

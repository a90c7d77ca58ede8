"""The planner's background work: solving a whole campaign as a job (genchi.jobs), and
applying the visits' results that wait (`PendingResult`) to the plan."""

from __future__ import annotations

from django_tasks import task

from genchi.jobs import runner

from .models import CampaignPlan


@task(takes_context=True)
def solve_plan(context, plan_id: int, token: str) -> None:
    from .plans import solve_work

    runner.run(context, CampaignPlan, plan_id, token, solve_work)


@task()
def apply_results(contract_id: int) -> None:
    """Every waiting result of the contract applied in one go; enqueued once per committed
    transaction that recorded results, so a later task often finds nothing and does nothing."""
    from .plans import apply_visit_results

    apply_visit_results(contract_id)

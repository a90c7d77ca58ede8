"""The planner's job: solving a whole campaign in a worker (genchi.jobs)."""

from __future__ import annotations

from django_tasks import task

from genchi.jobs import runner

from .models import CampaignPlan


@task(takes_context=True)
def solve_plan(context, plan_id: int, token: str) -> None:
    from .plans import solve_work

    runner.run(context, CampaignPlan, plan_id, token, solve_work)

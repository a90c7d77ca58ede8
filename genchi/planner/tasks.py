"""The planner's background work: solving a whole campaign as a job (genchi.jobs),
applying the visits' results that wait (`PendingResult`) to the plan, and the worker's
sweep that applies results whose task failed or was lost."""

from __future__ import annotations

from django.db.models import Min
from django.utils import timezone
from django_tasks import task

from genchi.jobs import runner, tickets

from .models import CampaignPlan, PendingResult


def key_of(contract_id: int) -> str:
    """The key of a contract's applying task (its ticket in the jobs layer)."""
    return f"contract:{contract_id}"


@task(takes_context=True)
def solve_plan(context, plan_id: int, token: str) -> None:
    from .plans import solve_work

    runner.run(context, CampaignPlan, plan_id, token, solve_work)


@task()
def apply_results(contract_id: int) -> None:
    """Every waiting result of the contract applied in one go; enqueued once per committed
    transaction that recorded results (not again while one waits in the queue), so a
    later task often finds nothing and does nothing."""
    from .plans import apply_visit_results

    with tickets.running(apply_results, key_of(contract_id)):
        apply_visit_results(contract_id)


def sweep_waiting_results() -> int:
    """Contracts with results waiting longer than the grace period: their applying task
    failed or was lost (or a result came just as the task had read the others), so it is
    enqueued again (`tickets.retry`: never while one is queued or running, bounded, with
    backoff). Returns how many were enqueued again."""
    cutoff = timezone.now() - tickets.grace()
    given_up = tickets.given_up_keys(apply_results)
    waiting = (
        PendingResult.objects.filter(applied_at__isnull=True)
        .values("contract_id", "contract__code")
        .annotate(oldest=Min("created_at"))
        .filter(oldest__lt=cutoff)
        .order_by("contract_id")
    )
    queued = 0
    for row in waiting:
        key = key_of(row["contract_id"])
        if key in given_up:
            continue
        done = tickets.retry(
            apply_results, row["contract_id"], key=key, contract=row["contract__code"]
        )
        queued += done == tickets.QUEUED
    return queued

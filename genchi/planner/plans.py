"""Writes of the campaign and its plan: settings, solving (a job), re-planning, results.

- `save_campaign(form, by)`: the settings (manager and handlers only, through the view).
- `start_solve(contract, by)`: builds the instance from the contract's cases and bases,
  stores it as a new version of the plan and runs the planner on it as a job (seconds up
  to a minute); the job stores the plan and marks the version current.
- `replan_surveyor(contract, person_id, from_date, by)`: one surveyor's days from a date
  planned again, inline (well under a second); the other surveyors' routes and the
  manager's locks are kept. A new current version.
- `note_visit_result(case, visited_at, needs_revisit, by)`: a result of a visit (the
  `visit_result_recorded` signal), kept waiting in the visit's own transaction.
- `apply_visit_results(contract_id)` (the background task `tasks.apply_results`): every
  waiting result written into the current instance as done, the visits each case needs
  lowered or raised, and each affected surveyor's days from the day after their earliest
  result planned again, once. One new current version for them all.
- `lock_visit(contract, ref, day, by)`: the manager pins a visit to its day (or frees it).

Every change is a new version (the history is kept) and an audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.fieldwork.selectors import survey_cases_for
from genchi.jobs import runner
from genchi.jobs.models import JobState
from genchi.parties.selectors import designated_surveyors
from genchi.planning import InstanceError, Plan, RoutingError, parse_instance, replan, solve

from .campaigns import build_instance, calendar, travel_provider
from .models import Campaign, CampaignPlan, PendingResult, SurveyorBase

logger = logging.getLogger("genchi.planner")

# The planner's time limit for re-planning one surveyor: the target is the whole re-plan
# within a second (docs/performance.md); reading and storing the plan take the rest.
REPLAN_SECONDS = 0.5


class PlanningRefused(Exception):
    """Why a plan cannot be made or changed now: Japanese sentences for the page."""

    def __init__(self, *messages: str) -> None:
        self.messages = [str(m) for m in messages]
        super().__init__("\n".join(self.messages))


def campaign_of(contract) -> Campaign:
    """The contract's campaign settings; unsaved defaults (the contract's period) when the
    office has not set them yet."""
    found = Campaign.objects.filter(contract=contract).first()
    if found is not None:
        return found
    return Campaign(contract=contract, starts_on=contract.starts_on, ends_on=contract.ends_on)


def current_plan(contract) -> CampaignPlan | None:
    return CampaignPlan.objects.filter(contract=contract, current=True).first()


def latest_solve(contract) -> CampaignPlan | None:
    return (
        CampaignPlan.objects.filter(contract=contract, kind=CampaignPlan.Kind.SOLVE)
        .order_by("-version")
        .first()
    )


@transaction.atomic
def save_campaign(campaign: Campaign, by) -> Campaign:
    campaign.by = by if getattr(by, "pk", None) else None
    campaign.updated_at = timezone.now()
    campaign.save()
    record(
        "planner.campaign.saved",
        obj=campaign,
        contract=campaign.contract,
        detail={
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
            "weekdays": list(campaign.weekdays),
            "travel": campaign.travel,
            "visits_per_day": campaign.visits_per_day,
            "visits_per_case": campaign.visits_per_case,
        },
    )
    return campaign


def _next_version(contract) -> int:
    top = CampaignPlan.objects.filter(contract=contract).aggregate(n=Max("version"))["n"]
    return (top or 0) + 1


def _bases(contract) -> dict[int | None, tuple[float, float]]:
    return {
        b.person_id: (float(b.lat), float(b.lng))
        for b in SurveyorBase.objects.filter(contract=contract)
    }


def _parsed(data: dict):
    try:
        return parse_instance(data)
    except InstanceError as exc:
        raise PlanningRefused(*(str(e) for e in exc.errors[:20])) from exc


def _provider(campaign):
    try:
        return travel_provider(campaign)
    except ImproperlyConfigured as exc:
        raise PlanningRefused(str(exc)) from exc


@transaction.atomic
def start_solve(contract, by) -> CampaignPlan:
    """Store the instance as a new version and enqueue the job that solves it (once the
    version and its entry have committed)."""
    row = prepare_solve(contract, by)
    from .tasks import solve_plan

    runner.enqueue(row, solve_plan, by=by, step="solve")
    return row


@transaction.atomic
def solve_now(contract, by) -> CampaignPlan:
    """Store the instance and solve it here, without a worker (the demo, the tests): the
    version, its solution and their entries in one transaction."""
    row = prepare_solve(contract, by)
    plan = solve(_parsed(row.instance), travel=_provider(campaign_of(contract)))
    _store_solution(row, plan)
    return row


@transaction.atomic
def prepare_solve(contract, by) -> CampaignPlan:
    """The instance of the contract as it is now, stored as a new version (not current
    until solved); PlanningRefused when no instance can be made."""
    running = latest_solve(contract)
    if running is not None and running.job_is_active:
        raise PlanningRefused(_("計画を作成中です。終わるまでお待ちください。"))
    campaign = campaign_of(contract)
    if campaign.pk is None:
        campaign = save_campaign(campaign, by)
    current = current_plan(contract)
    cases = list(survey_cases_for(by, contract).order_by("id"))
    built = build_instance(
        campaign,
        cases,
        surveyors=list(designated_surveyors(contract)),
        bases=_bases(contract),
        previous=current.instance if current else None,
        previous_first_day=current.first_day if current else None,
        from_date=timezone.localdate(),
    )
    if built.problems:
        raise PlanningRefused(*built.problems)
    locks = dict(current.locks) if current else {}
    if current is not None and current.first_day != campaign.starts_on:
        shift = (current.first_day - campaign.starts_on).days
        locks = {ref: day + shift for ref, day in locks.items()}
    days = set(built.calendar.days)
    for stop in built.instance["stops"]:
        if locks.get(stop["id"]) in days:
            stop["fixed_day"] = locks[stop["id"]]
    _parsed(built.instance)
    row = CampaignPlan.objects.create(
        contract=contract,
        version=_next_version(contract),
        kind=CampaignPlan.Kind.SOLVE,
        first_day=campaign.starts_on,
        instance_text="",
        excluded=built.excluded,
        locks={ref: day for ref, day in locks.items() if day in days},
        by=by if getattr(by, "pk", None) else None,
    )
    row.instance = built.instance
    row.save(update_fields=["instance_text"])
    record(
        "planner.plan.requested",
        obj=row,
        contract=contract,
        detail={
            "version": row.version,
            "stops": len(built.instance["stops"]),
            "surveyors": len(built.instance["surveyors"]),
            "days": len(built.calendar.days),
            "excluded": [e["ref"] for e in built.excluded],
        },
    )
    return row


def _make_current(row: CampaignPlan) -> None:
    CampaignPlan.objects.filter(contract_id=row.contract_id, current=True).exclude(
        pk=row.pk
    ).update(current=False)
    row.current = True
    row.save(update_fields=["current", "plan_text"])


def _summary(plan: dict) -> dict[str, Any]:
    totals = plan.get("totals", {})
    return {
        key: totals.get(key)
        for key in ("km", "minutes", "routes", "trips", "visits", "unassigned", "seconds")
    }


def solve_work(row: CampaignPlan, job: runner.JobRun) -> None:
    """The job: solve the stored instance and make the plan current."""
    job.step("solve", 1)
    instance = _parsed(row.instance)
    campaign = campaign_of(row.contract)
    try:
        provider = _provider(campaign)
        plan = solve(instance, travel=provider)
    except (RoutingError, PlanningRefused) as exc:
        with transaction.atomic():
            job.finish(state=JobState.FAILED, outcome="routing", message=str(exc))
            record(
                "planner.plan.failed",
                obj=row,
                contract=row.contract,
                detail={"version": row.version, "reason": "routing"},
            )
        return
    job.progress(1, 1, "store")
    with transaction.atomic():
        _store_solution(row, plan)
        job.finish(message="")


def _store_solution(row: CampaignPlan, plan: Plan) -> None:
    with transaction.atomic():
        row.plan = plan.to_dict()
        _make_current(row)
        record(
            "planner.plan.solved",
            obj=row,
            contract=row.contract,
            detail={"version": row.version, **_summary(row.plan)},
        )


def _new_version(
    current: CampaignPlan, *, kind: str, instance: dict, plan: dict, locks: dict, by, note: str
) -> CampaignPlan:
    row = CampaignPlan(
        contract_id=current.contract_id,
        version=_next_version(current.contract),
        kind=kind,
        first_day=current.first_day,
        excluded=current.excluded,
        locks=locks,
        note=note[:200],
        by=by if getattr(by, "pk", None) else None,
    )
    row.instance = instance
    row.plan = plan
    row.save()
    _make_current(row)
    return row


def _replanned(
    current: CampaignPlan,
    instance_data: dict,
    person_id: int,
    from_day: int,
    locks,
    plan_data: dict | None = None,
):
    """`plan_data` (default: the current version's plan) re-planned for one surveyor."""
    instance = _parsed(instance_data)
    base = current.plan if plan_data is None else plan_data
    plan = Plan.from_dict(base or {})
    locked = [
        (ref, day) for ref, day in locks.items() if day >= from_day and instance.has_stop(ref)
    ]
    # Today's route is under way: a re-plan from tomorrow keeps it (and its trip).
    new = replan(
        instance,
        plan,
        person_id,
        from_day,
        locked=locked,
        seconds=REPLAN_SECONDS,
        travel=_provider(campaign_of(current.contract)),
        under_way=current.day_of(timezone.localdate()),
    )
    out = new.to_dict()
    areas = (base or {}).get("areas")
    if areas:
        out["areas"] = areas
    return out


def replan_surveyor(contract, person_id: int, from_date: dt.date, by) -> CampaignPlan:
    """Plan one surveyor's days from `from_date` again; a new current version."""
    with transaction.atomic():
        current = (
            CampaignPlan.objects.select_for_update(of=("self",), no_key=True)
            .filter(contract=contract, current=True)
            .first()
        )
        if current is None or current.plan is None:
            raise PlanningRefused(_("まだ計画がありません。先に計画を作成してください。"))
        instance = current.instance
        if person_id not in {s["id"] for s in instance.get("surveyors", ())}:
            raise PlanningRefused(_("この調査員は計画に含まれていません。"))
        from_day = max(1, current.day_of(from_date))
        try:
            plan = _replanned(current, instance, person_id, from_day, current.locks)
        except RoutingError as exc:
            raise PlanningRefused(str(exc)) from exc
        row = _new_version(
            current,
            kind=CampaignPlan.Kind.REPLAN,
            instance=instance,
            plan=plan,
            locks=current.locks,
            by=by,
            note=_("%(date)s から再計画") % {"date": from_date.isoformat()},
        )
        record(
            "planner.plan.replanned",
            obj=row,
            contract=contract,
            detail={
                "version": row.version,
                "surveyor": person_id,
                "from": from_date.isoformat(),
                "seconds": plan.get("totals", {}).get("seconds"),
            },
        )
    return row


def note_visit_result(
    case, visited_at: dt.datetime, needs_revisit: bool, by
) -> PendingResult | None:
    """A visit's result (signal `visit_result_recorded`), in the transaction that records
    the visit: kept to be applied by `apply_visit_results` in the background. None when
    the contract has no plan in force (the result is for a plan made later)."""
    if not CampaignPlan.objects.filter(contract_id=case.contract_id, current=True).exists():
        return None
    return PendingResult.objects.create(
        contract_id=case.contract_id,
        case_ref=case.case_ref,
        surveyor_id_hint=case.surveyor_id,
        visited_at=visited_at,
        needs_revisit=bool(needs_revisit),
        by=by if getattr(by, "pk", None) else None,
    )


def _apply_result(current: CampaignPlan, instance: dict, plan, locks: dict, result) -> tuple:
    """Write one result into `instance` (and `locks`): the visit done, the visits the case
    needs lowered or raised. Returns (day, surveyor) or None when the case is not planned."""
    ref = result.case_ref
    stop = next((s for s in instance.get("stops", ()) if s["id"] == ref), None)
    if stop is None:
        return None
    local = timezone.localtime(result.visited_at)
    day = current.day_of(local.date())
    done = list(stop.get("done", ()))
    if day >= 1:
        done.append({"day": day, "time": f"{local.hour:02d}:{local.minute:02d}"})
        done.sort(key=lambda v: (v["day"], v["time"]))
    stop["done"] = done
    if result.needs_revisit:
        stop["visits"] = min(10, max(len(done) + 1, int(stop.get("visits", 1))))
    else:
        stop["visits"] = max(1, len(done))
    stop.pop("fixed_day", None)
    locks.pop(ref, None)
    surveyor = _surveyor_of(plan, ref, stop.get("surveyor"))
    if surveyor is None:
        surveyor = result.surveyor_id_hint
    if not done and not result.needs_revisit:
        instance["stops"] = [s for s in instance["stops"] if s is not stop]
    return day, surveyor


def apply_visit_results(contract_id: int) -> CampaignPlan | None:
    """Apply every waiting result of the contract to its plan in one transaction: each
    visit recorded as done, each affected surveyor planned again ONCE from the day after
    their earliest result, one new current version and one audit entry naming the cases.
    Returns the new version, or None when nothing was waiting (or there is no plan)."""
    with transaction.atomic():
        # Only the plan's own row, and FOR NO KEY UPDATE: a plain FOR UPDATE through the
        # Meta ordering would lock the contract row too, which others' commits need.
        current = (
            CampaignPlan.objects.select_for_update(of=("self",), no_key=True)
            .filter(contract_id=contract_id, current=True)
            .first()
        )
        waiting = list(
            PendingResult.objects.filter(contract_id=contract_id, applied_at__isnull=True)
        )
        if not waiting:
            return None
        now = timezone.now()
        ids = [r.pk for r in waiting]
        if current is None or current.plan is None:
            # No plan to apply them to (a new one is made from the cases themselves).
            PendingResult.objects.filter(pk__in=ids).update(applied_at=now)
            return None
        instance = current.instance
        plan = current.plan
        locks = dict(current.locks)
        from_days: dict[int, int] = {}
        applied = []
        # Days already lived (and today's route, under way) are never planned again: a
        # result synced late re-plans from tomorrow, like one recorded today.
        tomorrow = current.day_of(timezone.localdate()) + 1
        for result in waiting:
            found = _apply_result(current, instance, plan, locks, result)
            if found is None:
                continue
            day, surveyor = found
            applied.append({"ref": result.case_ref, "day": day, "revisit": result.needs_revisit})
            if surveyor is not None:
                start = max(1, day + 1, tomorrow)
                from_days[surveyor] = min(from_days.get(surveyor, 10**6), start)
        if not applied:  # none of them is a case of this plan: nothing to change
            PendingResult.objects.filter(pk__in=ids).update(applied_at=now)
            return None
        known = {s["id"] for s in instance.get("surveyors", ())}
        replanned = {}
        for surveyor, from_day in sorted(from_days.items()):
            if surveyor not in known:
                continue
            try:
                plan = _replanned(current, instance, surveyor, from_day, locks, plan)
            except (RoutingError, PlanningRefused) as exc:
                logger.warning("re-plan after visit results failed: %s", exc)
                continue
            replanned[str(surveyor)] = from_day
        authors = {r.by_id for r in waiting}
        refs = [a["ref"] for a in applied]
        row = _new_version(
            current,
            kind=CampaignPlan.Kind.RESULT,
            instance=instance,
            plan=plan,
            locks=locks,
            by=waiting[0].by if len(authors) == 1 else None,
            note=_("訪問結果 %(n)d 件を反映(%(refs)s)")
            % {"n": len(waiting), "refs": "、".join(refs) or "—"},
        )
        PendingResult.objects.filter(pk__in=ids).update(applied_at=now, applied_version=row.version)
        record(
            "planner.plan.results_applied",
            obj=row,
            contract=current.contract,
            detail={
                "version": row.version,
                "refs": refs,
                "results": applied,
                "not_planned": len(waiting) - len(applied),
                "replanned": replanned,
            },
        )
    return row


def _surveyor_of(plan: dict | None, ref: str, fixed) -> int | None:
    if fixed is not None:
        return fixed
    for route in (plan or {}).get("routes", ()):
        if ref in route["stops"]:
            return route["surveyor"]
    for sid, refs in (plan or {}).get("areas", {}).items():
        if ref in refs:
            try:
                return int(sid)
            except ValueError:
                return None
    return None


def lock_visit(contract, ref: str, date: dt.date | None, by) -> CampaignPlan:
    """Pin the next visit of `ref` to `date` (None: free it) in the current version; the
    lock is kept by re-plans of that surveyor (docs/planning.md)."""
    with transaction.atomic():
        current = (
            CampaignPlan.objects.select_for_update(of=("self",), no_key=True)
            .filter(contract=contract, current=True)
            .first()
        )
        if current is None:
            raise PlanningRefused(_("まだ計画がありません。先に計画を作成してください。"))
        locks = dict(current.locks)
        if date is None:
            locks.pop(ref, None)
        else:
            day = current.day_of(date)
            if day not in set(current.instance.get("days", ())):
                raise PlanningRefused(_("調査期間の稼働日ではありません。"))
            locks[ref] = day
        current.locks = locks
        current.save(update_fields=["locks"])
        record(
            "planner.plan.locked",
            obj=current,
            contract=contract,
            detail={"ref": ref, "date": date.isoformat() if date else None},
        )
    return current


def period_of(campaign) -> tuple[dt.date, dt.date, int]:
    cal = calendar(campaign)
    return cal.first_day, cal.last_day, len(cal.days)

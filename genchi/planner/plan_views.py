"""The campaign plan's pages: overview (table, map, routes), a surveyor's day, the
settings, solving (a job with a progress page), re-planning and locks.

Reads go through `plan_selectors` (the manager and handlers see every surveyor, a
surveyor only their own routes: C-S2.4); every showing of case data is logged; writes go
through `plans`.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import CONTRACTOR_OFFICE, CONTRACTOR_ROLES
from genchi.fieldwork.selectors import case_contracts_for, log_case_list_view
from genchi.geo.maps import MapLayers
from genchi.jobs.outcomes import interrupt_if_stale

from . import plan_selectors as selectors
from . import plans
from .plan_forms import CampaignForm, LockForm, ReplanForm


def _office_contract(request, code: str):
    contract = selectors.plan_contract_for(request.user, code)
    if not selectors.sees_all(request.user, contract):
        raise Http404("契約が見つかりません")
    return contract


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise Http404("日付が正しくありません") from None


def _overview_map(view: selectors.PlanView, date: dt.date | None) -> MapLayers:
    """Each surveyor's routes of `date` as lines from the base and back, the stops as
    markers coloured by surveyor."""
    layers = MapLayers()
    instance = view.row.instance
    base_of = {s["id"]: (s["lat"], s["lng"]) for s in instance.get("surveyors", ())}
    stop_at = {s["id"]: (s["lat"], s["lng"]) for s in instance.get("stops", ())}
    lodging = {
        t["id"]: (t["lodging"]["lat"], t["lodging"]["lng"])
        for t in (view.row.plan or {}).get("trips", ())
    }
    for person in view.surveyors:
        layers.group(str(person.pk), str(person))
    for route in view.routes:
        if route["date"] != date:
            continue
        key = str(route["surveyor"])
        code = view.row.contract.code
        href = reverse("planner:plan_day", args=[code, route["surveyor"], date.isoformat()])
        for n, ref in enumerate(route["shown"], start=1):
            point = stop_at.get(ref)
            if point:
                layers.marker(*point, label=f"{n}. {ref}", group=key, href=href)
        # A day of a trip (出張) starts and ends at the trip's lodging.
        start = lodging.get(route.get("trip")) or base_of.get(route["surveyor"])
        line = [stop_at[r] for r in route["shown"] if r in stop_at]
        if start and line:
            layers.route([start, *line, start], group=key, label=str(date))
    return layers


@require_safe
@policy(CONTRACTOR_ROLES, description="調査計画のある契約の一覧")
def plan_index(request):
    contracts = list(case_contracts_for(request.user).order_by("-starts_on", "code"))
    if len(contracts) == 1:
        return redirect("planner:plan", code=contracts[0].code)
    return render(request, "planner/plan/index.html", {"contracts": contracts})


@require_safe
@policy(CONTRACTOR_ROLES, personal_data=True, description="調査計画(調査員×日付の表、地図)")
def plan_overview(request, code: str):
    contract = selectors.plan_contract_for(request.user, code)
    view = selectors.plan_for(request.user, contract)
    office = selectors.sees_all(request.user, contract)
    solving = plans.latest_solve(contract) if office else None
    if solving is not None:
        interrupt_if_stale(solving)
    context = {
        "contract": contract,
        "view": view,
        "office": office,
        "campaign": plans.campaign_of(contract) if office else None,
        "solving": solving,
        "can_solve": office and permits(plan_solve, request.user),
        "can_replan": office and permits(plan_replan, request.user),
        "versions": selectors.versions(contract) if office else [],
        "pending_results": selectors.pending_results(contract),
    }
    if view is not None:
        dates = view.dates
        today = timezone.localdate()
        chosen = request.GET.get("date", "")
        date = None
        if chosen:
            date = _parse_date(chosen)
        elif dates:
            date = next((d for d in dates if d >= today), dates[0])
        context["map_date"] = date
        context["plan_map"] = _overview_map(view, date)
        context["replan_form"] = ReplanForm(initial={"from_date": max(today, view.row.first_day)})
        shown = [r for route in view.routes if route["date"] == date for r in route["shown"]]
        if shown:
            log_case_list_view(
                list(_cases(request.user, contract, shown)), view="plan_overview_map"
            )
        listed = [u["id"] for u in view.unassigned] + [e["ref"] for e in view.excluded]
        if listed:
            log_case_list_view(list(_cases(request.user, contract, listed)), view="plan_overview")
    return render(request, "planner/plan/overview.html", context)


def _cases(user, contract, refs):
    from genchi.fieldwork.selectors import survey_cases_for

    return (
        survey_cases_for(user, contract)
        .filter(case_ref__in=list(refs))
        .select_related("contract")
        .order_by("id")
    )


@require_safe
@policy(CONTRACTOR_ROLES, personal_data=True, description="調査員の1日の訪問順と経路")
def plan_day(request, code: str, person_id: int, date: str):
    contract = selectors.plan_contract_for(request.user, code)
    day = selectors.day_for(request.user, contract, person_id, _parse_date(date))
    log_case_list_view(
        [s["case"] for s in day.stops] + [d["case"] for d in day.done], view="plan_day"
    )
    layers = MapLayers()
    key = layers.group(str(day.person.pk), str(day.person))
    start = day.lodging or day.base
    points = []
    for n, stop in enumerate(day.stops, start=1):
        case = stop["case"]
        url = reverse("fieldwork:case_detail", args=[contract.code, case.case_ref])
        if layers.marker(
            case.lat, case.lng, label=f"{n}. {stop['time']} {case.case_ref}", group=key, href=url
        ):
            points.append((case.lat, case.lng))
    if start:
        if day.lodging:
            base_key = layers.group("base", _("出張の宿泊地"), neutral=True)
        else:
            base_key = layers.group("base", _("拠点"), neutral=True)
        layers.marker(*start, label=_("出発・帰着"), group=base_key)
        if points:
            layers.route([start, *points, start], group=key, label=str(day.date))
    office = selectors.sees_all(request.user, contract)
    days = sorted(
        {r["day"] for r in (day.row.plan or {}).get("routes", ()) if r["surveyor"] == person_id}
    )
    this = day.row.day_of(day.date)
    earlier = [d for d in days if d < this]
    later = [d for d in days if d > this]
    return render(
        request,
        "planner/plan/day.html",
        {
            "contract": contract,
            "day": day,
            "day_map": layers,
            "office": office,
            "can_lock": office and permits(plan_lock, request.user),
            "base_label": selectors.base_label(contract, person_id),
            "previous_date": day.row.date_of(earlier[-1]) if earlier else None,
            "next_date": day.row.date_of(later[0]) if later else None,
            "slips_url": _slips_url(contract, day.stops),
            "pending_results": selectors.pending_results(contract),
        },
    )


def _slips_url(contract, stops: list[dict]) -> str | None:
    """The contact slips of the day's stops, in visiting order (one PDF to print)."""
    refs = [stop["ref"] for stop in stops]
    if not refs:
        return None
    url = reverse("slips:route_slips", args=[contract.code])
    return f"{url}?{urlencode({'refs': ','.join(refs)})}"


@policy(CONTRACTOR_OFFICE, description="調査計画の設定(期間・稼働日・訪問・移動・再訪問)")
def plan_settings(request, code: str):
    contract = _office_contract(request, code)
    campaign = plans.campaign_of(contract)
    form = CampaignForm(request.POST or None, instance=campaign, contract=contract)
    if request.method == "POST" and form.is_valid():
        plans.save_campaign(form.save(commit=False), request.user)
        messages.success(request, _("調査計画の設定を保存しました。"))
        return redirect("planner:plan", code=contract.code)
    first, last, working = plans.period_of(campaign) if campaign.starts_on else (None, None, 0)
    return render(
        request,
        "planner/plan/settings.html",
        {"contract": contract, "form": form, "working_days": working, "first": first, "last": last},
    )


@require_POST
@policy(CONTRACTOR_OFFICE, description="調査計画を作成する(ジョブ)")
def plan_solve(request, code: str):
    contract = _office_contract(request, code)
    try:
        plans.start_solve(contract, request.user)
    except plans.PlanningRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("planner:plan", code=contract.code)
    return redirect("planner:plan_progress", code=contract.code)


@require_safe
@policy(CONTRACTOR_OFFICE, description="調査計画の作成の進み具合(自動更新)")
def plan_progress(request, code: str):
    contract = _office_contract(request, code)
    row = plans.latest_solve(contract)
    if row is not None:
        interrupt_if_stale(row)
    busy = row is not None and row.job_is_active
    if request.headers.get("HX-Request") and not busy:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("planner:plan", kwargs={"code": contract.code})
        return response
    template = "planner/plan/_progress.html" if request.headers.get("HX-Request") else None
    return render(
        request,
        template or "planner/plan/progress.html",
        {"contract": contract, "row": row, "busy": busy},
    )


@require_POST
@policy(CONTRACTOR_OFFICE, description="調査員の残りの日を再計画する")
def plan_replan(request, code: str, person_id: int):
    contract = _office_contract(request, code)
    form = ReplanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("再計画する最初の日を「2026-12-01」の形で指定してください。"))
        return redirect("planner:plan", code=contract.code)
    try:
        row = plans.replan_surveyor(
            contract, person_id, form.cleaned_data["from_date"], request.user
        )
    except plans.PlanningRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("planner:plan", code=contract.code)
    seconds = (row.plan or {}).get("totals", {}).get("seconds", 0)
    messages.success(
        request,
        _("再計画しました(第%(version)s版、%(seconds).2f 秒)。")
        % {"version": row.version, "seconds": seconds or 0},
    )
    return redirect("planner:plan", code=contract.code)


@require_POST
@policy(CONTRACTOR_OFFICE, description="訪問をその日に固定する・固定を外す")
def plan_lock(request, code: str, person_id: int, date: str):
    contract = _office_contract(request, code)
    day = _parse_date(date)
    back = redirect("planner:plan_day", code=contract.code, person_id=person_id, date=date)
    form = LockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("固定する訪問を選んでください。"))
        return back
    ref = form.cleaned_data["case_ref"]
    if not selectors.visible_refs(request.user, contract, [ref]):
        raise Http404("案件が見つかりません")
    try:
        plans.lock_visit(contract, ref, day if form.cleaned_data["lock"] else None, request.user)
    except plans.PlanningRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
        return back
    if form.cleaned_data["lock"]:
        messages.success(request, _("%(ref)s の訪問をこの日に固定しました。") % {"ref": ref})
    else:
        messages.success(request, _("%(ref)s の固定を外しました。") % {"ref": ref})
    return back

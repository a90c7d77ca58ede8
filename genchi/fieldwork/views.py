"""The contractor's received cases: list with filters and paging, case page, assignment.

Reads go through `selectors` (scoped per role and assignment, C-S2.4); each showing of
personal data is logged; writes go through `services`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import CONTRACTOR_OFFICE, CONTRACTOR_ROLES
from genchi.core.images import CONTENT_TYPES
from genchi.core.outcomes import described, rule_of
from genchi.core.uploads import MemoryOnlyUploadHandler
from genchi.geo.maps import MapLayers
from genchi.parties.selectors import contract_for

from . import photos, selectors, services
from .addresses import address_fields
from .forms import AssignForm, CaseFilterForm, PositionForm, ReviewForm, VisitForm
from .models import Review, SurveyCase
from .slip_views import case_slip
from .visit_flags import flags_for

CASES_PER_PAGE = 100
# A contract has at most a few hundred cases; the map shows the filtered ones up to this.
MAP_LIMIT = 2000


def _filtered(request):
    contracts = list(selectors.case_contracts_for(request.user))
    base = selectors.survey_cases_for(request.user)
    surveyors = selectors.surveyor_options(request.user)
    facets = selectors.facet_values(base)
    form = CaseFilterForm(
        request.GET or None,
        contracts=contracts,
        prefs=facets["prefs"],
        cities=facets["cities"],
        surveyors=surveyors,
    )
    qs = base
    if form.is_valid():
        data = form.cleaned_data
        qs = selectors.filter_cases(
            qs,
            contracts=contracts,
            contract=data["contract"],
            pref=data["pref"],
            city=data["city"],
            status=data["status"],
            surveyor=data.get("surveyor", ""),
            q=data["q"],
        )
    return form, qs, surveyors


def _case_map(qs) -> tuple[MapLayers, int, int]:
    """The filtered cases on a map, coloured by surveyor, each surveyor's area as a hull;
    (layers, cases drawn, cases without a place). Every case drawn is logged as shown."""
    points = selectors.case_points(qs, MAP_LIMIT)
    layers = MapLayers()
    unplaced = 0
    # One reverse() per contract, not per case (500 markers: a tenth of the page's time).
    prefixes: dict[str, str] = {}
    for _contract_id, code, ref, lat, lng, surveyor_id, surveyor_name in points:
        if surveyor_id is None:
            group = layers.group("none", _("未割当"), neutral=True)
        else:
            group = layers.group(str(surveyor_id), surveyor_name)
        if code not in prefixes:
            prefixes[code] = reverse("fieldwork:case_detail", args=[code, "-"])[:-2]
        if not layers.marker(lat, lng, label=ref, group=group, href=f"{prefixes[code]}{ref}/"):
            unplaced += 1
    for key in layers.groups:
        if key != "none":
            layers.hull_of_markers(key)
    selectors.log_case_points_view(points, view="case_map")
    return layers, len(points) - unplaced, unplaced


@require_safe
@policy(CONTRACTOR_ROLES, personal_data=True, description="受領した案件の一覧")
def case_list(request):
    form, qs, surveyors = _filtered(request)
    case_map, mapped, unplaced = _case_map(qs)
    paginator = Paginator(
        qs.select_related("contract", "received_in", "surveyor").order_by("contract_id", "id"),
        CASES_PER_PAGE,
    )
    page = paginator.get_page(request.GET.get("page"))
    cases = list(page.object_list)
    selectors.log_case_list_view(cases)
    query = request.GET.copy()
    query.pop("page", None)
    can_assign = permits(case_assign, request.user) and bool(surveyors)
    return render(
        request,
        "fieldwork/case_list.html",
        {
            "form": form,
            "page": page,
            "cases": cases,
            "total": paginator.count,
            "query": query.urlencode(),
            "can_assign": can_assign,
            "assign_form": AssignForm(surveyors=surveyors) if can_assign else None,
            "next": request.get_full_path(),
            "case_map": case_map,
            "mapped": mapped,
            "unplaced": unplaced,
            "map_limit": MAP_LIMIT,
            "progress_contracts": selectors.case_contracts_for(request.user)
            if permits(progress, request.user)
            else [],
        },
    )


@require_safe
@policy(CONTRACTOR_ROLES, personal_data=True, description="受領した案件の詳細")
def case_detail(request, code: str, case_ref: str):
    case = selectors.case_for(request.user, code, case_ref)
    selectors.log_case_view(case)
    if not case.pref and case.geocode_level == 0:
        # Received before addresses were read at import: read it for this showing only.
        for field, value in address_fields(case.address, case.postal_code).items():
            setattr(case, field, value)
    can_fix = permits(case_position, request.user) and case.status in services.ASSIGNABLE
    visits = selectors.visits_of(case)
    flags = flags_for(visits)  # the tablet's field checks, for the reviewer
    for visit in visits:
        visit.checks = flags.get(visit.pk, [])
    landlord_name, landlord_phone = selectors.landlord_of(visits)
    can_review = (
        permits(case_review, request.user)
        and case.status == SurveyCase.Status.VISITED
        and case.review == Review.PENDING
    )
    return render(
        request,
        "fieldwork/case_detail.html",
        {
            "case": case,
            "can_fix_position": can_fix,
            "visits": visits,
            "landlord_name": landlord_name,
            "landlord_phone": landlord_phone,
            "outcome_rule": rule_of(case.outcome),
            "can_visit": case.status in services.VISITABLE
            and case.surveyor_id is not None
            and services.can_record_visit(request.user, case),
            "review_form": ReviewForm() if can_review else None,
            "can_print_slip": permits(case_slip, request.user),
        },
    )


# --- Visits, photos, review, progress (issue 15) ------------------------------------------

# Every photo of one visit at its largest, plus the form's own fields.
VISIT_UPLOAD_LIMIT = photos.MAX_PHOTOS_PER_VISIT * photos.PHOTO_MAX_BYTES + 256 * 1024


@policy(CONTRACTOR_ROLES, personal_data=True, description="訪問の記録(事務所の入力)")
@csrf_exempt
def visit_new(request, code: str, case_ref: str):
    # Photos stay in memory until cleaned and encrypted (never a plaintext temporary
    # file): the handler is set before the body is read, the CSRF check runs after it.
    handler = MemoryOnlyUploadHandler(request, limit=VISIT_UPLOAD_LIMIT)
    request.upload_handlers = [handler]
    return _visit_new(request, code, case_ref, handler)


@csrf_protect
def _visit_new(request, code: str, case_ref: str, handler):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405)
    case = selectors.case_for(request.user, code, case_ref)
    if not services.can_record_visit(request.user, case):
        raise PermissionDenied(_("この案件の訪問を記録する権限がありません。"))
    selectors.log_case_view(case)
    form = VisitForm(request.POST or None, request.FILES or None, case=case)
    if request.method == "POST":
        if handler.too_large:
            messages.error(
                request,
                _("写真の合計が大きすぎます(上限 %(mb)d MB)。")
                % {"mb": VISIT_UPLOAD_LIMIT // (1024 * 1024)},
            )
        elif form.is_valid():
            data = form.cleaned_data
            try:
                visit = services.record_visit(case, data, data["photos"], by=request.user)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                messages.success(
                    request,
                    _("%(n)d 回目の訪問を記録しました。") % {"n": visit.number},
                )
                return redirect("fieldwork:case_detail", code=code, case_ref=case_ref)
    else:
        form.initial["visited_at"] = timezone.localtime().replace(second=0, microsecond=0)
    return render(
        request,
        "fieldwork/visit_form.html",
        {"case": case, "form": form, "outcomes": described()},
    )


@require_safe
@policy(CONTRACTOR_ROLES, personal_data=True, description="訪問の写真の表示")
def visit_photo(request, photo_id: int):
    photo = selectors.photo_for(request.user, photo_id)
    data = photos.photo_bytes(photo)
    selectors.log_photo_view(photo)
    response = HttpResponse(data, content_type=CONTENT_TYPES[photo.kind])
    response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}.{photo.kind}"'
    response["Cache-Control"] = "no-store, private"
    return response


@require_POST
@policy(CONTRACTOR_OFFICE, description="調査結果の確認(承認・差し戻し)")
def case_review(request, code: str, case_ref: str):
    case = selectors.case_for(request.user, code, case_ref)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("承認か差し戻しを選んでください。"))
    else:
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.review_case(
                case, approve=approve, reason=form.cleaned_data["reason"], by=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("承認しました。") if approve else _("調査員に差し戻しました。"),
            )
    return redirect("fieldwork:case_detail", code=code, case_ref=case_ref)


@require_safe
@policy(CONTRACTOR_OFFICE, description="調査の進捗")
def progress(request, code: str):
    contract = contract_for(request.user, code)
    if not selectors.can_read_cases(request.user, contract):
        raise PermissionDenied(_("この契約の進捗を見る権限がありません。"))
    return render(
        request,
        "fieldwork/progress.html",
        {"contract": contract, **selectors.progress(request.user, contract)},
    )


@require_POST
@policy(CONTRACTOR_OFFICE, description="案件を調査員に割り当てる")
def case_assign(request):
    back = request.POST.get("next", "")
    target = back if back.startswith("/fieldwork/cases/") else "fieldwork:case_list"
    ids = [
        int(i) for i in request.POST.getlist("case") if i.isascii() and i.isdigit() and len(i) <= 18
    ]
    contracts = {c.pk: c for c in selectors.case_contracts_for(request.user)}
    refs: dict[int, list[str]] = {}
    for contract_id, ref in (
        selectors.survey_cases_for(request.user)
        .filter(pk__in=ids)
        .values_list("contract_id", "case_ref")
    ):
        refs.setdefault(contract_id, []).append(ref)
    surveyors = {str(p.pk): p for p in selectors.surveyor_options(request.user)}
    choice = request.POST.get("surveyor", "")
    if not refs:
        messages.error(request, _("割り当てる案件を選んでください。"))
        return redirect(target)
    if choice and choice not in surveyors:
        messages.error(request, _("調査員を選び直してください。"))
        return redirect(target)
    count = 0
    try:
        with transaction.atomic():  # all contracts' cases or none
            for contract_id, contract_refs in refs.items():
                count += services.assign_cases(
                    contracts[contract_id], contract_refs, surveyors.get(choice), by=request.user
                )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext("%(n)d 件の割当を変更しました。", "%(n)d 件の割当を変更しました。", count)
            % {"n": count},
        )
    return redirect(target)


@require_http_methods(["GET", "HEAD", "POST"])
@policy(CONTRACTOR_OFFICE, personal_data=True, description="案件の位置を修正する")
def case_position(request, code: str, case_ref: str):
    """Give a case the address engine could not place below the prefecture a position
    (a corrected address, or latitude and longitude), so that it can be planned."""
    case = selectors.case_for(request.user, code, case_ref)
    back = request.POST.get("next") or request.GET.get("next", "")
    if not back.startswith(("/planner/", "/fieldwork/")):
        back = reverse("fieldwork:case_detail", args=[code, case_ref])
    form = PositionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.correct_position(
                case.contract,
                case.case_ref,
                address=data["address"],
                lat=None if data["lat"] is None else float(data["lat"]),
                lng=None if data["lng"] is None else float(data["lng"]),
                by=request.user,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("%(ref)s の位置を修正しました。") % {"ref": case.case_ref})
            return redirect(back)
    selectors.log_case_view(case)
    return render(
        request, "fieldwork/case_position.html", {"case": case, "form": form, "next": back}
    )

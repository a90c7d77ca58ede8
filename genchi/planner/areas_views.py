"""The office's area pages (C-S2.4): bases, the area proposal, moves and confirmation.

Only the contract's manager and handlers (office work, `does_office_work_on`) reach them;
reads go through `areas_selectors` (cases through fieldwork's logged selector), writes
through `areas_services`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from genchi.access.policy import policy
from genchi.access.roles import CONTRACTOR_OFFICE

from . import areas_selectors as selectors
from . import areas_services as services
from .areas_forms import BaseForm, ProposeForm
from .models import AreaProposal


def _int(value: str) -> int | None:
    return (
        int(value) if value and value.isascii() and value.isdigit() and len(value) <= 18 else None
    )


def _errors(request, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, str(exc))


@require_safe
@policy(CONTRACTOR_OFFICE, description="担当地域を扱う契約の一覧")
def areas_index(request):
    contracts = list(selectors.area_contracts_for(request.user))
    return render(request, "planner/areas/index.html", {"contracts": contracts})


@require_safe
@policy(CONTRACTOR_OFFICE, personal_data=True, description="担当地域の案(地図・表)")
def areas_page(request, code: str):
    contract = selectors.area_contract_for(request.user, code)
    proposal = services.current_draft(contract)
    page = selectors.proposal_page(request.user, contract, proposal)
    return render(
        request,
        "planner/areas/proposal.html",
        {
            "contract": contract,
            "proposal": proposal,
            "is_draft": proposal is not None and proposal.status == AreaProposal.Status.DRAFT,
            "propose_form": ProposeForm(initial=proposal.params if proposal else None),
            **page,
        },
    )


def _back(code: str):
    return redirect(reverse("planner:areas_page", args=[code]))


@require_POST
@policy(CONTRACTOR_OFFICE, description="担当地域の案を作る(作り直す)")
def areas_propose(request, code: str):
    contract = selectors.area_contract_for(request.user, code)
    form = ProposeForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}")
        return _back(code)
    try:
        proposal = services.propose(contract, by=request.user, params=form.params())
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(
            request,
            ngettext(
                "%(n)d 件の案件で担当地域の案を作りました。",
                "%(n)d 件の案件で担当地域の案を作りました。",
                proposal.rows.count(),
            )
            % {"n": proposal.rows.count()},
        )
    return _back(code)


@require_POST
@policy(CONTRACTOR_OFFICE, description="担当地域の案で案件を別の調査員に移す")
def areas_move_cases(request, code: str):
    contract = selectors.area_contract_for(request.user, code)
    refs = [r for r in request.POST.getlist("case") if r and len(r) <= 32]
    target = request.POST.get("surveyor", "")
    try:
        if not refs:
            raise ValidationError(_("移す案件を選んでください。"))
        n = services.move_cases(
            contract,
            _int(request.POST.get("proposal", "")) or 0,
            refs,
            _int(target),
            by=request.user,
        )
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(
            request, ngettext("%(n)d 件を移しました。", "%(n)d 件を移しました。", n) % {"n": n}
        )
    return _back(code)


@require_POST
@policy(CONTRACTOR_OFFICE, description="担当地域の案で町字ごと別の調査員に移す")
def areas_move_town(request, code: str):
    contract = selectors.area_contract_for(request.user, code)
    key = tuple(request.POST.get("town_key", "")[:300].split("|"))
    try:
        if len(key) != 3 or not key[0]:
            raise ValidationError(_("移す町字を選んでください。"))
        n = services.move_town(
            contract,
            _int(request.POST.get("proposal", "")) or 0,
            key,
            _int(request.POST.get("surveyor", "")),
            by=request.user,
        )
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(
            request,
            ngettext("%(town)s の %(n)d 件を移しました。", "%(town)s の %(n)d 件を移しました。", n)
            % {"town": "".join(key), "n": n},
        )
    return _back(code)


@require_POST
@policy(CONTRACTOR_OFFICE, description="担当地域の案で出張をまるごと別の調査員に移す")
def areas_move_trip(request, code: str):
    contract = selectors.area_contract_for(request.user, code)
    trip = request.POST.get("trip", "")[:32]
    try:
        if not trip:
            raise ValidationError(_("移す出張を選んでください。"))
        n = services.move_trip(
            contract,
            _int(request.POST.get("proposal", "")) or 0,
            trip,
            _int(request.POST.get("surveyor", "")),
            by=request.user,
        )
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    else:
        messages.success(
            request,
            ngettext(
                "出張 %(trip)s の %(n)d 件を移しました。",
                "出張 %(trip)s の %(n)d 件を移しました。",
                n,
            )
            % {"trip": trip, "n": n},
        )
    return _back(code)


@require_POST
@policy(CONTRACTOR_OFFICE, description="担当地域の案を確定し、案件を割り当てる")
def areas_confirm(request, code: str):
    contract = selectors.area_contract_for(request.user, code)
    try:
        counts = services.confirm(
            contract, _int(request.POST.get("proposal", "")) or 0, by=request.user
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(
            request,
            _("確定できませんでした。") + " " + " ".join(getattr(exc, "messages", [str(exc)])),
        )
    else:
        messages.success(
            request,
            _("担当地域を確定し、割り当てました: %(counts)s")
            % {"counts": "、".join(f"{name} {n} 件" for name, n in counts.items())},
        )
    return _back(code)


@require_http_methods(["GET", "HEAD", "POST"])
@policy(CONTRACTOR_OFFICE, description="事務所と調査員の拠点")
def bases(request, code: str):
    contract = selectors.area_contract_for(request.user, code)
    page = selectors.bases_page(contract)
    form = BaseForm(request.POST or None, people=page["people"])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.set_base(
                contract,
                form.person_obj(),
                label=data["label"],
                kind=data["kind"],
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
            messages.success(request, _("拠点を保存しました。"))
            return redirect(reverse("planner:bases", args=[code]))
    return render(request, "planner/areas/bases.html", {"contract": contract, "form": form, **page})

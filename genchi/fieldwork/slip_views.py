"""Contact slips (連絡票) as PDF: one case's, or a run of cases in the order given (the
surveyor's route for the day).

Only who may read the cases may print their slips: the contract's office staff, and a
surveyor for the cases assigned to them (C-S2.4, through `selectors.survey_cases_for`).
Every printing is logged with the references, never a name or an address.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from genchi.access.policy import policy
from genchi.access.roles import CONTRACTOR_ROLES
from genchi.audit.chain import record

from . import selectors
from .documents import contact_slips_pdf, slip_problems

MAX_SLIPS = 300  # a surveyor's day is a few dozen; this only bounds a request


def _contract(user, code: str):
    contract = selectors.case_contracts_for(user).select_related("ward").filter(code=code).first()
    if contract is None:
        raise Http404("契約が見つかりません")
    return contract


def _refs(request) -> list[str]:
    raw = request.POST.getlist("refs") if request.method == "POST" else request.GET.getlist("refs")
    refs: list[str] = []
    for chunk in raw:
        for ref in chunk.replace("\n", ",").split(","):
            ref = ref.strip()
            if ref and ref not in refs:
                refs.append(ref[:32])
    return refs


def _pdf(request, contract, cases, *, view: str):
    problems = slip_problems(contract)
    if problems:
        messages.error(
            request,
            _("連絡票を印刷できません: %(problems)s。区の管理者が契約の変更画面で設定します。")
            % {"problems": "、".join(problems)},
        )
        return redirect("fieldwork:case_list")
    data = contact_slips_pdf(contract, cases)
    refs = [case.case_ref for case in cases]
    record(
        "contact_slip.printed",
        object_type="fieldwork.surveycase",
        object_id=refs[0] if len(refs) == 1 else "",
        contract=contract,
        detail={"refs": refs, "count": len(refs), "view": view},
    )
    response = HttpResponse(data, content_type="application/pdf")
    name = f"slip-{contract.code}-{refs[0]}" if len(refs) == 1 else f"slips-{contract.code}"
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@policy(CONTRACTOR_ROLES, personal_data=True, description="連絡票(PDF、1件)")
def case_slip(request, code: str, case_ref: str):
    case = selectors.case_for(request.user, code, case_ref)
    return _pdf(request, case.contract, [case], view="case")


@require_http_methods(["GET", "HEAD", "POST"])
@policy(CONTRACTOR_ROLES, personal_data=True, description="連絡票(PDF、訪問順にまとめて)")
def route_slips(request, code: str):
    contract = _contract(request.user, code)
    refs = _refs(request)
    if not refs:
        messages.error(request, _("印刷する案件の番号を指定してください。"))
        return redirect("fieldwork:case_list")
    if len(refs) > MAX_SLIPS:
        messages.error(
            request,
            _("一度に印刷できる連絡票は %(max)d 件までです(指定: %(n)d 件)。")
            % {"max": MAX_SLIPS, "n": len(refs)},
        )
        return redirect("fieldwork:case_list")
    found = {
        case.case_ref: case
        for case in selectors.survey_cases_for(request.user, contract).filter(case_ref__in=refs)
    }
    missing = [ref for ref in refs if ref not in found]
    if missing:
        # The same words whether a case does not exist or is only outside this person's
        # scope (not assigned to them).
        messages.error(
            request,
            _("次の案件番号は、あなたが扱える案件にありません: %(refs)s")
            % {"refs": "、".join(missing[:20])},
        )
        return redirect("fieldwork:case_list")
    return _pdf(request, contract, [found[ref] for ref in refs], view="route")

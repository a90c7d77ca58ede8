"""The manager's close page (issue 15 item 6): what keeps the survey from closing, the
button that starts the closing job, its progress, and the report downloads (logged)."""

from __future__ import annotations

import tempfile
from collections import Counter

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import policy
from genchi.access.roles import CONTRACTOR_ADMINS
from genchi.audit.chain import record
from genchi.parties.selectors import contract_for

from . import closing, report
from .models import SurveyClosing


def _contract(request, code: str):
    contract = contract_for(request.user, code)
    if not closing.may_close(request.user, contract):
        raise PermissionDenied(_("この契約の調査を締める権限がありません。"))
    return contract


BLOCKERS_LISTED = 50


@require_safe
@policy(CONTRACTOR_ADMINS, description="調査の締め(報告書と結果パッケージ)")
def close_page(request, code: str):
    contract = _contract(request, code)
    runs = list(SurveyClosing.objects.filter(contract=contract)[:10])
    blockers = report.closing_blockers(contract)
    # Hundreds of open cases at first: the reasons with their counts come first, then
    # the first cases, not one row per case down a page ten thousand pixels long.
    reasons = Counter(str(why) for _ref, why in blockers).most_common()
    return render(
        request,
        "fieldwork/close.html",
        {
            "contract": contract,
            "reasons": reasons,
            "blockers": blockers[:BLOCKERS_LISTED],
            "blocker_count": len(blockers),
            "unlisted": max(0, len(blockers) - BLOCKERS_LISTED),
            "case_list": f"{reverse('fieldwork:case_list')}?contract={contract.code}",
            "runs": runs,
            "active": any(r.job_is_active for r in runs),
        },
    )


@require_POST
@policy(CONTRACTOR_ADMINS, description="調査を締める(ジョブの開始)")
def close_start(request, code: str):
    contract = _contract(request, code)
    try:
        closing.start_closing(contract, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("調査の締めを開始しました。"))
    return redirect("fieldwork:close", code=contract.code)


@require_safe
@policy(CONTRACTOR_ADMINS, description="報告書のダウンロード(PDF・XLSX)")
def report_download(request, code: str, closing_id: int, kind: str):
    contract = _contract(request, code)
    row = get_object_or_404(SurveyClosing, contract=contract, pk=closing_id)
    if kind not in ("pdf", "xlsx") or not (row.report_pdf and row.report_xlsx):
        raise Http404
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    closing.read_report(row, kind, out)
    out.seek(0)
    record(
        "fieldwork.report_downloaded",
        obj=row,
        contract=contract,
        detail={"kind": kind, "cases": row.case_count},
    )
    content_type = (
        "application/pdf"
        if kind == "pdf"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"report-{contract.code}-{row.pk}.{kind}",
        content_type=content_type,
    )

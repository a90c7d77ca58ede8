"""The ward's pages of the survey's results: the summary of a contract, the export for the
tax system and the photos (each showing logged)."""

from __future__ import annotations

import io

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from genchi import vault
from genchi.access.policy import permits, policy
from genchi.access.roles import WARD_READERS, WARD_WRITERS
from genchi.audit.chain import record
from genchi.core.outcomes import Outcome, rule_of

from . import exports, selectors
from .receiving import IMAGE_MAGIC, photo_context, photo_storage


@require_safe
@policy(WARD_READERS, description="調査結果の一覧(契約ごと)")
def result_index(request):
    contracts = list(selectors.result_contracts_for(request.user))
    summaries = [selectors.summary(c) for c in contracts]
    return render(request, "results/index.html", {"summaries": summaries})


@require_safe
@policy(WARD_READERS, description="調査結果の集計")
def result_summary(request, code: str):
    contract = selectors.contract_for(request.user, code)
    summary = selectors.summary(contract)
    top = max(summary.by_outcome.values(), default=0) or 1
    bars = [
        {
            "code": code_,
            "label": Outcome(code_).label,
            "rule": rule_of(code_),
            "count": count,
            "percent": round(100 * count / top),
        }
        for code_, count in summary.by_outcome.items()
    ]
    return render(
        request,
        "results/summary.html",
        {
            "summary": summary,
            "bars": bars,
            "outcomes": Outcome.choices,
            "can_export": permits(result_export_csv, request.user),
        },
    )


def _export(request, code: str, fmt: str) -> HttpResponse:
    contract = selectors.contract_for(request.user, code)
    data = exports.as_csv(contract) if fmt == "csv" else exports.as_xlsx(contract)
    record("results.exported", contract=contract, detail={"format": fmt})
    content_type = (
        "text/csv; charset=Shift_JIS"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="results-{contract.code}.{fmt}"'
    return response


@require_safe
@policy(WARD_WRITERS, personal_data=True, description="調査結果の書き出し(CSV・税システム用)")
def result_export_csv(request, code: str):
    return _export(request, code, "csv")


@require_safe
@policy(WARD_WRITERS, personal_data=True, description="調査結果の書き出し(XLSX・税システム用)")
def result_export_xlsx(request, code: str):
    return _export(request, code, "xlsx")


@require_safe
@policy(WARD_READERS, personal_data=True, description="調査写真の表示")
def photo(request, result_photo_id: int):
    shown = selectors.photo_for(request.user, result_photo_id)
    result = shown.result
    out = io.BytesIO()
    vault.read_encrypted_file(
        photo_storage(),
        shown.stored_as,
        vault.contract_scope(result.contract_id, "ward"),
        photo_context(result, shown.name),
        out,
    )
    data = out.getvalue()
    record(
        "results.photo_viewed",
        contract=result.contract,
        detail={"case": result.case_ref, "photo": shown.name},
    )
    content_type = "image/png" if data.startswith(IMAGE_MAGIC[1]) else "image/jpeg"
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response

"""The export for the tax system: one row per result with the 宛名番号 the ward kept back,
the outcome code and its date. CSV in CP932 (what Excel in Japan opens) and XLSX."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from genchi.core.formulas import neutralise_formula
from genchi.intake import selectors as intake_selectors
from genchi.parties.models import Contract

from .models import CaseResult

HEADERS = ("参照番号", "宛名番号", "調査結果コード", "調査結果", "判定日", "訪問回数", "連絡票")


def rows(contract: Contract) -> list[tuple]:
    results = list(CaseResult.objects.filter(contract=contract).order_by("case_ref"))
    numbers = intake_selectors.taxpayer_numbers(contract, [r.case_id for r in results])
    return [
        (
            numbers.get(r.case_id, (r.case_ref, ""))[0],
            numbers.get(r.case_id, ("", ""))[1],
            r.outcome,
            r.get_outcome_display(),
            r.decided_on.isoformat() if r.decided_on else "",
            r.visit_count,
            r.get_contact_slip_display() if r.contact_slip else "",
        )
        for r in results
    ]


def as_csv(contract: Contract) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows(contract):
        writer.writerow([neutralise_formula(v) for v in row])
    # A character CP932 lacks becomes "?" rather than failing the whole export.
    return out.getvalue().encode("cp932", errors="replace")


def as_xlsx(contract: Contract) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "調査結果"
    ws.append(HEADERS)
    for row in rows(contract):
        ws.append([neutralise_formula(v) for v in row])
    for column, width in zip("ABCDEFG", (16, 14, 22, 12, 12, 10, 10), strict=True):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

"""The yearly evaluation as XLSX: the fiscal years side by side, then every contract."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from genchi.core.formulas import neutralise_formula
from genchi.core.wareki import fiscal_year_label

from .selectors import Evaluation, Figures


def headers() -> list[str]:
    return [
        _("年度"),
        _("契約"),
        _("調査件数"),
        _("居住確認"),
        _("居住確認率"),
        _("居住確認・推定"),
        _("居住確認・推定率"),
        _("連絡票を渡した件数"),
        _("連絡票後に接触した件数"),
        _("連絡票後の接触率"),
        _("納付した件数"),
        _("接触後の納付額(円)"),
        _("契約金額(円)"),
        _("1件あたりの費用(円)"),
        _("回収1円あたりの費用(円)"),
    ]


def row(f: Figures, contract: str) -> list:
    def rate(value):
        return round(value, 4) if value is not None else None

    return [
        fiscal_year_label(f.fiscal_year),
        contract,
        f.cases,
        f.confirmed,
        rate(f.confirmed_rate),
        f.resident,
        rate(f.resident_rate),
        f.slips_left,
        f.contacted,
        rate(f.contact_rate),
        f.payments,
        f.collected,
        f.cost,
        round(f.cost_per_case) if f.cost_per_case is not None else None,
        round(f.cost_per_yen, 2) if f.cost_per_yen is not None else None,
    ]


def as_xlsx(evaluation: Evaluation) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("年度比較")
    ws.append(headers())
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for year in evaluation.years:
        ws.append(row(year, _("全契約")))
    ws.append([])
    ws.append([_("契約ごと")])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for f in evaluation.contracts:
        ws.append([neutralise_formula(v) for v in row(f, f.label)])
    for r in ws.iter_rows(min_row=2):
        for index in (4, 6, 9):  # the rates as percentages
            r[index].number_format = "0.0%"
    for column in "ABCDEFGHIJKLMNO":
        ws.column_dimensions[column].width = 16
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

"""The checklist, the on-site audit record and the handling report, printed: each is built
once as a `Sheet` (title, header lines, tables) and written as an A4 PDF (Japanese fonts,
和暦) or as XLSX from the same rows, so the two never disagree."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from genchi.core.documents import in_japanese
from genchi.core.formulas import neutralise_formula
from genchi.core.pdf import build_document, grid_style, para, seal_boxes, styles
from genchi.core.wareki import fiscal_year_label, format_date, format_datetime

from .audits import audits_of
from .checklist import Checklist
from .handling import HandlingReport
from .models import OnSiteAudit

WIDTH_MM = 180


@dataclass
class Part:
    heading: str
    headers: list[str]
    rows: list[list[str]]
    widths: list[float]  # shares of the page width
    empty: str = ""


@dataclass
class Sheet:
    title: str
    filename: str
    lines: list[str]
    parts: list[Part] = field(default_factory=list)
    seals: list[str] = field(default_factory=list)


def _contract_lines(contract) -> list[str]:
    return [
        f"契約: {contract.title}(契約コード {contract.code}・{fiscal_year_label(contract.fiscal_year)})",
        f"委託者: {contract.ward.name}  受託者: {contract.contractor.name}",
        f"履行期間: {format_date(contract.starts_on)} 〜 {format_date(contract.ends_on)}",
    ]


def checklist_sheet(checklist: Checklist) -> Sheet:
    contract = checklist.contract
    lines = _contract_lines(contract) + [f"作成: {format_datetime(checklist.made_at)}"]
    if checklist.audit_reminder:
        lines.append(checklist.audit_reminder)
    rows = [
        [
            str(row.item.question),
            row.item.controls,
            "Genchi の記録" if row.item.by_software else "確認者",
            row.status_label,
            "\n".join(row.lines) or "—",
        ]
        for row in checklist.rows
    ]
    part = Part(
        "確認項目",
        ["確認項目", "管理策", "確認の方法", "結果", "根拠・所見"],
        rows,
        [0.27, 0.11, 0.1, 0.08, 0.44],
    )
    return Sheet(
        "確認記録票(個人情報の保護に関する受託者の確認)",
        f"checklist-{contract.code}",
        lines,
        [part],
        ["確認者(区)", "受託者 取扱責任者"],
    )


def audit_sheet(audit: OnSiteAudit) -> Sheet:
    contract = audit.contract
    lines = _contract_lines(contract) + [
        f"実施日: {format_date(audit.audited_on)}({fiscal_year_label(audit.fiscal_year)})",
        f"調査員(区): {audit.inspector}",
        f"場所: {audit.place or '—'}",
    ]
    findings = Part("所見", ["所見"], [[audit.findings]], [1.0])
    actions = Part(
        "改善を求める事項と完了",
        ["事項", "期限", "完了日", "完了の内容"],
        [
            [
                a.text,
                format_date(a.due_on) if a.due_on else "—",
                format_date(a.completed_on) if a.completed_on else "未了",
                a.completion_note or "—",
            ]
            for a in audit.actions.all()
        ],
        [0.4, 0.15, 0.15, 0.3],
        empty="改善を求める事項はありません。",
    )
    return Sheet(
        "立入調査記録(個人情報の取扱いに関する実地の確認)",
        f"onsite-audit-{contract.code}-{audit.audited_on.isoformat()}",
        lines,
        [findings, actions],
        ["調査員(区)", "受託者 取扱責任者"],
    )


def audits_part(contract) -> Part:
    return Part(
        "立入調査の記録",
        ["実施日", "年度", "調査員", "改善事項(完了/全体)"],
        [
            [
                format_date(a.audited_on),
                fiscal_year_label(a.fiscal_year),
                a.inspector,
                f"{sum(1 for x in a.actions.all() if x.completed_on)}/{len(a.actions.all())}",
            ]
            for a in audits_of(contract)
        ],
        [0.25, 0.2, 0.3, 0.25],
        empty="立入調査の記録はありません。",
    )


def handling_sheet(report: HandlingReport) -> Sheet:
    contract = report.contract
    lines = _contract_lines(contract) + [
        f"対象期間: {format_date(report.since)} 〜 {format_date(report.until)}",
        f"作成: {format_datetime(report.made_at)}",
    ]
    parts = [
        Part(
            s.heading,
            s.headers,
            s.rows,
            [1 / len(s.headers)] * len(s.headers),
            empty=s.empty,
        )
        for s in report.sections
    ]
    return Sheet(
        "個人情報の取扱状況報告書",
        f"handling-report-{contract.code}-{report.since.isoformat()}-{report.until.isoformat()}",
        lines,
        parts,
        ["受託者 取扱責任者", "区 受付"],
    )


@in_japanese
def as_pdf(sheet: Sheet) -> bytes:
    st = styles()
    story = [
        para(format_date(timezone.localdate()), st["right"]),
        para(sheet.title, st["title"]),
        Spacer(1, 4 * mm),
    ]
    story += [para(line, st["body"]) for line in sheet.lines]
    for part in sheet.parts:
        story += [Spacer(1, 4 * mm), para(part.heading, st["heading"]), Spacer(1, 1.5 * mm)]
        if not part.rows:
            story.append(para(part.empty or "—", st["body"]))
            continue
        data = [[para(h, st["small"]) for h in part.headers]]
        data += [[para(str(v), st["small"]) for v in row] for row in part.rows]
        table = Table(data, colWidths=[w * WIDTH_MM * mm for w in part.widths], repeatRows=1)
        table.setStyle(
            grid_style(
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            )
        )
        story.append(table)
    if sheet.seals:
        story += [Spacer(1, 8 * mm), seal_boxes(sheet.seals, box_mm=32)]
    return build_document(story, title=sheet.title)


@in_japanese
def as_xlsx(sheet: Sheet) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet.title[:31]
    ws.append([sheet.title])
    ws["A1"].font = Font(bold=True, size=14)
    for line in sheet.lines:
        ws.append([neutralise_formula(line)])
    for part in sheet.parts:
        ws.append([])
        ws.append([part.heading])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        ws.append(part.headers)
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        if not part.rows:
            ws.append([part.empty or "—"])
        for row in part.rows:
            ws.append([neutralise_formula(v) for v in row])
            for cell in ws[ws.max_row]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEF", (40, 16, 16, 16, 60, 16), strict=True):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

"""USBメモリ管理台帳 as PDF (A4 landscape, seal column) and XLSX (formulas neutralised)."""

from __future__ import annotations

import io

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.platypus import Spacer, Table

from genchi.core import pdf
from genchi.core.documents import in_japanese
from genchi.core.formulas import neutralise_formula
from genchi.core.pdf import mm, para
from genchi.core.wareki import format_date, format_datetime
from genchi.parties.models import Organisation

from .ledger import StickRow, ledger_events, ledger_rows
from .models import StickEvent

NIST_NOTE = (
    "Genchi の上書き削除はファイル単位です。フラッシュメモリはウェアレベリングのため"
    "上書きで完全には消去できません(NIST SP 800-88)。完全な消去には機器のセキュア消去機能"
    "(Purge)または物理破壊(Destroy)を行い、その方法を記録します。"
)

OVERVIEW_HEADERS = (
    "管理番号",
    "製造番号",
    "容量",
    "状態",
    "現在の保管者",
    "返却予定日",
    "期限超過",
    "最終消去",
    "最終点検",
)
EVENT_HEADERS = (
    "日時",
    "管理番号",
    "区分",
    "相手・内容",
    "パッケージ",
    "消去方法",
    "実施者",
    "結果",
)


def safe_cell(value):
    """A cell value spreadsheet software never runs as a formula (genchi.core.formulas)."""
    return neutralise_formula(value)


def _overview_row(r: StickRow) -> list[str]:
    s = r.stick
    wipe = (
        f"{format_date(r.last_wipe.at)} {r.last_wipe.get_method_display()}" if r.last_wipe else "—"
    )
    inspection = (
        f"{format_date(r.last_inspection.at)} {'良' if r.last_inspection.result_ok else '否'}"
        if r.last_inspection
        else "—"
    )
    return [
        s.label,
        s.serial,
        f"{s.capacity_gb}GB",
        str(r.state.label),  # the one rule, as on the pages (ledger.stick_state)
        r.custodian,
        format_date(r.loan.due_on) if r.loan else "—",
        "超過" if r.overdue else "",
        wipe,
        inspection,
    ]


def _event_row(e: StickEvent) -> list[str]:
    return [
        format_datetime(e.at),
        e.stick.label,
        e.get_kind_display(),
        e.text,  # rendered now, in Japanese (in_japanese)
        str(e.package.package_id)[:8] if e.package else "",
        e.get_method_display() if e.method else "",
        e.by_name,
        ""
        if e.kind not in (StickEvent.Kind.INSPECTED, StickEvent.Kind.WIPED)
        else ("良" if e.result_ok else "否"),
    ]


@in_japanese
def ledger_pdf(owner: Organisation) -> bytes:
    st = pdf.styles()
    rows = ledger_rows(owner)
    story: list = [
        para("USBメモリ管理台帳", st["title"]),
        para(f"{owner.name}  作成日 {format_date(timezone.localdate())}", st["right"]),
        Spacer(1, 4 * mm),
        para("1. 保管・貸出の状況", st["heading"]),
        Spacer(1, 2 * mm),
    ]
    widths = [22, 30, 14, 26, 52, 28, 16, 50, 29]
    data = [[para(h, st["small"]) for h in OVERVIEW_HEADERS]]
    data += [[para(v, st["small"]) for v in _overview_row(r)] for r in rows]
    if not rows:
        data.append([para("登録されたUSBメモリはありません。", st["small"])] + [""] * 8)
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    extra = [("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9))]
    for i, r in enumerate(rows, 1):
        if r.overdue:
            extra.append(("BACKGROUND", (0, i), (-1, i), colors.Color(1, 0.88, 0.88)))
    table.setStyle(pdf.grid_style(*extra))
    story += [
        table,
        Spacer(1, 6 * mm),
        para("2. 記録(登録・貸出・書込・返却・点検・消去)", st["heading"]),
    ]
    story.append(Spacer(1, 2 * mm))
    ewidths = [40, 22, 24, 70, 20, 44, 25, 12]
    events = list(ledger_events(owner))
    edata = [[para(h, st["small"]) for h in (*EVENT_HEADERS,)]]
    edata += [[para(v, st["small"]) for v in _event_row(e)] for e in events]
    etable = Table(edata, colWidths=[w * mm for w in ewidths], repeatRows=1)
    etable.setStyle(pdf.grid_style(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9))))
    story += [etable, Spacer(1, 4 * mm), para(NIST_NOTE, st["tiny"]), Spacer(1, 4 * mm)]
    seals = pdf.seal_boxes(["管理責任者", "点検者"], box_mm=26)
    seals.hAlign = "RIGHT"
    story.append(seals)

    def footer(_canvas, _page: int) -> str:
        return f"Genchi USBメモリ管理台帳 {owner.code} / {format_datetime(timezone.now())}"

    return pdf.build_document(
        story, title="USBメモリ管理台帳", orientation="landscape", footer=footer
    )


@in_japanese
def ledger_xlsx(owner: Organisation) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "一覧"
    _sheet(ws, OVERVIEW_HEADERS, [_overview_row(r) for r in ledger_rows(owner)])
    ev = wb.create_sheet("記録")
    _sheet(ev, EVENT_HEADERS, [_event_row(e) for e in ledger_events(owner)])
    note = wb.create_sheet("注記")
    note["A1"] = safe_cell(NIST_NOTE)
    note["A1"].alignment = Alignment(wrap_text=True)
    note.column_dimensions["A"].width = 100
    wb.properties.title = "USBメモリ管理台帳"
    wb.properties.creator = "Genchi"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _sheet(ws, headers, rows) -> None:
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDDDDD")
    ws.append([safe_cell(h) for h in headers])
    for cell in ws[1]:
        cell.font = bold
        cell.fill = fill
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    for i, header in enumerate(headers, 1):
        longest = (
            max([len(str(header))] + [len(str(r[i - 1])) for r in rows]) if rows else len(header)
        )
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, longest * 1.6))
    ws.freeze_panes = "A2"

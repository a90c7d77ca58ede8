"""The printable first report of an incident (事故報告書・第一報), in Japanese, 和暦."""

from __future__ import annotations

from django.utils import timezone
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from genchi.core.documents import in_japanese
from genchi.core.pdf import build_document, grid_style, label_column_style, para, seal_boxes, styles
from genchi.core.wareki import format_date, format_datetime

from .models import Incident


@in_japanese
def first_report_pdf(incident: Incident) -> bytes:
    st = styles()
    contract = incident.contract
    reporter = contract.contractor if incident.side == Incident.Side.CONTRACTOR else contract.ward
    refs = incident.affected_refs
    rows = [
        (
            "報告番号",
            f"{incident.label}(報告者の番号 {incident.origin_label})"
            if incident.origin_label and incident.origin_label != incident.label
            else incident.label,
        ),
        ("契約", f"{contract.title}(契約コード {contract.code})"),
        ("報告者", f"{reporter.name}({incident.get_side_display()})"),
        ("種類", incident.get_kind_display()),
        ("発生日時", format_datetime(incident.occurred_at) if incident.occurred_at else "不明"),
        ("発見日時", format_datetime(incident.found_at)),
        ("発見者", incident.found_by),
        ("概要", incident.summary),
        ("初動の対応", incident.first_actions or "—"),
        (
            "対象の案件",
            f"{len(refs)} 件"
            + (
                f"(参照番号: {', '.join(refs[:50])}" + (" ほか)" if len(refs) > 50 else ")")
                if refs
                else ""
            ),
        ),
        ("記録日時", format_datetime(incident.created_at)),
    ]
    table = Table(
        [[para(k, st["cell"]), para(v, st["cell"])] for k, v in rows],
        colWidths=[35 * mm, 145 * mm],
    )
    table.setStyle(grid_style(label_column_style(len(rows))))
    story = [
        para(format_date(timezone.localdate(incident.created_at)), st["right"]),
        para(f"{contract.ward.name} 様", st["heading"]),
        Spacer(1, 4 * mm),
        para("個人情報の取扱いに関する事故報告書(第一報)", st["title"]),
        Spacer(1, 4 * mm),
        para(
            "特記事項に基づき、個人情報の取扱いに関する事故(事故のおそれ・特記事項の違反を含む)を"
            "次のとおり報告します。詳細は書面により追って報告し、区の指示に従います。",
            st["body"],
        ),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 8 * mm),
        seal_boxes(["報告者", "区 受付"]),
    ]
    return build_document(story, title=f"事故報告書(第一報) {incident.label}")

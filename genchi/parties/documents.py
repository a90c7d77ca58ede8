"""The contractor's documents about its people: the roster reported to the ward (取扱者名簿,
C-O1, S13) and a surveyor's ID card with letter of commission (身分証明書・委託証明書, C-O3).
Japanese, 和暦 dates, fonts embedded (genchi.core.pdf)."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Spacer

from genchi.core.documents import in_japanese
from genchi.core.pdf import (
    FONT,
    FONT_BOLD,
    QrCode,
    Table,
    build_document,
    grid_style,
    mm,
    para,
    register_fonts,
    styles,
)
from genchi.core.wareki import format_date, format_datetime

from .models import Contract, IdCard

CARD_W, CARD_H = 85.6 * mm, 54 * mm  # ISO/IEC 7810 ID-1, the size of a credit card


def _date(day) -> str:
    return format_date(day) if day else "—"


@in_japanese
def roster_pdf(contract: Contract, rows: list[dict]) -> bytes:
    """取扱者名簿: the manager, handlers and surveyors with designation, training and pledge."""
    st = styles()
    today = timezone.localdate()
    story = [
        para(f"{format_date(today)}", st["right"]),
        para(f"{contract.ward.name} 様", st["heading"]),
        Spacer(1, 4 * mm),
        para("個人情報取扱者名簿(取扱責任者・取扱者・調査員)", st["title"]),
        Spacer(1, 4 * mm),
        para(
            f"{contract.title}(契約コード {contract.code})の受託にあたり、個人情報の取扱責任者"
            "及び取扱者を次のとおり指定したので報告します。各人は個人情報保護・情報セキュリティの"
            "研修を受講し(条例及び特記事項を周知)、秘密保持の誓約書を提出しています。",
            st["body"],
        ),
        Spacer(1, 2 * mm),
        para(f"受託者: {contract.contractor.name}", st["body"]),
        para(
            f"履行期間: {format_date(contract.starts_on)} 〜 {format_date(contract.ends_on)}",
            st["body"],
        ),
        Spacer(1, 4 * mm),
    ]
    header = [
        "区分",
        "氏名",
        "指定日",
        "指定解除",
        "区への報告日",
        "研修受講日",
        "研修名・講師",
        "条例・特記事項",
        "誓約日",
        "誓約書",
    ]
    data = [[para(h, st["small"]) for h in header]]
    for row in rows:
        d, training, pledge = row["designation"], row["training"], row["pledge"]
        data.append(
            [
                para(d.get_role_display(), st["small"]),
                para(str(d.person), st["small"]),
                para(_date(d.starts_on), st["small"]),
                para(format_datetime(d.ended_at) if d.ended_at else "—", st["small"]),
                para(_date(d.reported_to_ward_on), st["small"]),
                para(_date(training.trained_on) if training else "未受講", st["small"]),
                para(f"{training.course}({training.taught_by})" if training else "—", st["small"]),
                para("周知済み" if training else "—", st["small"]),
                para(_date(pledge.signed_on) if pledge else "未提出", st["small"]),
                para(
                    ("スキャン保管" if pledge.has_scan else "紙で保管") if pledge else "—",
                    st["small"],
                ),
            ]
        )
    if len(data) == 1:
        data.append([para("指定された者はいません。", st["small"])] + [""] * (len(header) - 1))
    widths = [18, 26, 27, 27, 27, 27, 44, 16, 27, 20]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(grid_style(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93))))
    story.append(table)
    return build_document(
        story,
        title=f"取扱者名簿 {contract.code}",
        orientation="landscape",
        footer=lambda _c, _p: f"Genchi 取扱者名簿 {contract.code} 作成 {format_date(today)}",
        margins_mm=12,
    )


def _text(canvas: Canvas, x: float, y: float, text: str, size: float, bold: bool = False) -> None:
    canvas.setFont(FONT_BOLD if bold else FONT, size)
    canvas.drawString(x, y, text)


@in_japanese
def id_card_pdf(card: IdCard, *, check_url: str, photo: bytes | None) -> bytes:
    """A4: the letter of commission above, the ID card (card size, to cut out) below."""
    register_fonts()
    designation = card.designation
    contract, person = designation.contract, designation.person
    st = styles()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, initialFontName=FONT, initialFontSize=10)
    canvas.setTitle(f"身分証明書・委託証明書 {card.serial}")
    canvas.setAuthor("Genchi")
    canvas.setCreator("Genchi")
    width, height = A4
    left = 20 * mm

    # --- letter of commission ---------------------------------------------------------
    _text(canvas, width - left - 60 * mm, height - 22 * mm, f"番号 {card.serial}", 9)
    _text(canvas, width - left - 60 * mm, height - 27 * mm, format_date(card.issued_on), 9)
    canvas.setFont(FONT_BOLD, 18)
    canvas.drawCentredString(width / 2, height - 42 * mm, "委託証明書")
    body = (
        f"氏名 {escape(str(person))}<br/><br/>"
        f"上記の者は、{escape(contract.contractor.name)}が{escape(contract.ward.name)}から委託を受けて"
        f"実施する「{escape(contract.title)}」の調査員であることを証明します。<br/>"
        "調査員は、調査の際にこの証明書と身分証明書を携帯し、求めに応じて提示します。<br/><br/>"
        f"有効期間: {format_date(card.issued_on)} から {format_date(card.valid_until)} まで<br/>"
        f"委託者: {escape(contract.ward.name)}<br/>"
        f"受託者: {escape(contract.contractor.name)}<br/>"
        f"契約: {escape(contract.title)}(契約コード {escape(contract.code)})<br/><br/>"
        "この証明書の有効性は、右下の二次元コードから受託者の事務所で照合できます。"
    )
    paragraph = Paragraph(body, st["body"])
    _w, h = paragraph.wrap(width - 2 * left, 120 * mm)
    paragraph.drawOn(canvas, left, height - 52 * mm - h)
    qr = QrCode(check_url, size=26 * mm)
    qr.canv = canvas
    canvas.saveState()
    canvas.translate(width - left - 26 * mm, height - 52 * mm - h - 30 * mm)
    qr.draw()
    canvas.restoreState()
    _text(canvas, left, height - 52 * mm - h - 10 * mm, f"{contract.contractor.name}", 10)
    _text(canvas, left, height - 52 * mm - h - 16 * mm, "取扱責任者", 9)

    # --- the card (cut out along the frame) -------------------------------------------
    x, y = left, 40 * mm
    canvas.setDash(2, 2)
    canvas.setStrokeColor(colors.grey)
    canvas.rect(x - 2 * mm, y - 2 * mm, CARD_W + 4 * mm, CARD_H + 4 * mm)
    canvas.setDash()
    _text(
        canvas,
        x - 2 * mm,
        y + CARD_H + 4 * mm,
        "点線で切り取り、名札ケースに入れて携帯してください。",
        7,
    )
    canvas.setStrokeColor(colors.black)
    canvas.roundRect(x, y, CARD_W, CARD_H, 3 * mm)
    canvas.setFillColor(colors.Color(0.15, 0.3, 0.55))
    canvas.rect(x, y + CARD_H - 9 * mm, CARD_W, 9 * mm, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont(FONT_BOLD, 11)
    canvas.drawString(x + 4 * mm, y + CARD_H - 6.2 * mm, "身分証明書(調査員)")
    canvas.setFillColor(colors.black)
    photo_x, photo_y, photo_w, photo_h = x + 3 * mm, y + 12 * mm, 24 * mm, 30 * mm
    if photo:
        canvas.drawImage(
            ImageReader(io.BytesIO(photo)),
            photo_x,
            photo_y,
            photo_w,
            photo_h,
            preserveAspectRatio=True,
            anchor="c",
        )
    else:
        canvas.setStrokeColor(colors.grey)
        canvas.rect(photo_x, photo_y, photo_w, photo_h)
        canvas.setFont(FONT, 7)
        canvas.drawCentredString(photo_x + photo_w / 2, photo_y + photo_h / 2, "写真なし")
    tx = x + 30 * mm
    _text(canvas, tx, y + CARD_H - 15 * mm, str(person), 12, bold=True)
    lines = [
        f"委託者 {contract.ward.name}",
        f"受託者 {contract.contractor.name}",
        contract.title[:22],
        f"有効期限 {format_date(card.valid_until)}",
        f"番号 {card.serial}",
    ]
    for i, line in enumerate(lines):
        _text(canvas, tx, y + CARD_H - 21 * mm - i * 4.2 * mm, line, 6.5)
    small_qr = QrCode(check_url, size=16 * mm)
    small_qr.canv = canvas
    canvas.saveState()
    canvas.translate(x + CARD_W - 18 * mm, y + 2 * mm)
    small_qr.draw()
    canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return out.getvalue()


__all__ = ["id_card_pdf", "roster_pdf"]

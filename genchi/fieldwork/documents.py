"""The contact slip (連絡票): a page per case that the surveyor leaves at the address, in
an envelope, asking the person to contact the ward.

Anyone at the address may read it (a family member, the next tenant, whoever empties the
mailbox), so it carries the least that lets the ward recognise the call:

- the ward's contact details and the wording set on the contract (no tax words: the
  contract's fields refuse them, parties.models.validate_slip_text);
- the case's reference number (opaque; the ward finds the case by it);
- no name and no address: the person may have moved away, and a name beside a call
  from the ward would tell a stranger something about them. Nor does the ward's
  organisation name appear (it may name the tax division): the sender is the contract's
  contact department, or the ward's office.

A4 portrait, one slip per page, to be folded in three for a 長形3号 envelope; printed in
one run for a surveyor's day, in the order given (route order). Japanese, 和暦 date,
fonts embedded (genchi.core.pdf).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from genchi.core.documents import in_japanese
from genchi.core.pdf import FONT, FONT_BOLD, mm, para, register_fonts, styles
from genchi.core.wareki import format_date
from genchi.parties.models import Contract

from .models import SurveyCase

TITLE = "ご連絡のお願い"


def slip_problems(contract: Contract) -> list[str]:
    """Why the contract's slips cannot be printed yet (empty: they can)."""
    problems = []
    if not contract.slip_sender:
        problems.append(_("連絡票の差出人(部署名)が設定されていません"))
    if not contract.contact_phone.strip():
        problems.append(_("連絡票の電話番号が設定されていません"))
    return problems


def _slip(canvas: Canvas, contract: Contract, case_ref: str, day, position: str) -> None:
    st = styles()
    width, height = A4
    left = 22 * mm
    inner = width - 2 * left

    canvas.setFont(FONT, 10)
    canvas.drawRightString(width - left, height - 22 * mm, format_date(day))

    canvas.setFont(FONT_BOLD, 22)
    canvas.drawCentredString(width / 2, height - 42 * mm, TITLE)

    body = st["body"].clone("slip-body", fontSize=13, leading=21)
    wording = para(contract.slip_text, body)
    _, h = wording.wrapOn(canvas, inner, 80 * mm)
    top = height - 58 * mm
    wording.drawOn(canvas, left, top - h)
    y = top - h - 14 * mm

    # The reference number, in a box, large enough to read out on the phone.
    box_w, box_h = 120 * mm, 26 * mm
    box_x = (width - box_w) / 2
    canvas.setStrokeColor(colors.black)
    canvas.setLineWidth(1)
    canvas.rect(box_x, y - box_h, box_w, box_h)
    canvas.setFont(FONT, 10)
    canvas.drawCentredString(width / 2, y - 8 * mm, "お問い合わせ番号")
    canvas.setFont(FONT_BOLD, 20)
    canvas.drawCentredString(width / 2, y - 19 * mm, case_ref)
    y -= box_h + 7 * mm
    canvas.setFont(FONT, 10.5)
    canvas.drawCentredString(width / 2, y, "お電話の際は、この番号をお伝えください。")
    y -= 16 * mm

    # The contact: who, where, phone, hours.
    canvas.setFont(FONT_BOLD, 12)
    canvas.drawString(left, y, "連絡先")
    canvas.setLineWidth(0.5)
    canvas.line(left, y - 2.5 * mm, width - left, y - 2.5 * mm)
    y -= 11 * mm
    canvas.setFont(FONT_BOLD, 15)
    canvas.drawString(left + 4 * mm, y, contract.slip_sender)
    rows = []
    if contract.contact_address.strip():
        rows.append(("所在地", contract.contact_address.strip(), 11))
    rows.append(("電話", contract.contact_phone.strip(), 16))
    if contract.contact_hours.strip():
        rows.append(("受付時間", contract.contact_hours.strip(), 11))
    for label, value, size in rows:
        y -= (size + 6) * 0.3528 * mm + 4 * mm
        canvas.setFont(FONT, 10)
        canvas.drawString(left + 4 * mm, y, label)
        canvas.setFont(FONT_BOLD if label == "電話" else FONT, size)
        canvas.drawString(left + 28 * mm, y, value)

    # Who brought it, and for the surveyor the slip's place in the day's run.
    note = st["small"].clone("slip-note", fontSize=9, leading=13)
    delivered = para(
        f"このお知らせは、{contract.slip_sender}の委託を受けた調査員がお届けしました。"
        "お心当たりのない場合も、お手数ですが上記までご連絡ください。",
        note,
    )
    _, h = delivered.wrapOn(canvas, inner, 30 * mm)
    delivered.drawOn(canvas, left, 32 * mm)
    canvas.setFont(FONT, 7)
    canvas.setFillColor(colors.Color(0.35, 0.35, 0.35))
    canvas.drawRightString(width - left, 14 * mm, position)
    canvas.setFillColor(colors.black)


@in_japanese
def contact_slips_pdf(contract: Contract, cases_in_order: Sequence[SurveyCase]) -> bytes:
    """One slip per case, in the order given (the surveyor's route)."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, initialFontName=FONT, initialFontSize=10)
    canvas.setTitle(TITLE)
    canvas.setAuthor("Genchi")
    canvas.setCreator("Genchi")
    day = timezone.localdate()
    total = len(cases_in_order)
    for number, case in enumerate(cases_in_order, start=1):
        _slip(canvas, contract, case.case_ref, day, f"{number} / {total}")
        canvas.showPage()
    if not total:
        canvas.showPage()
    canvas.save()
    return out.getvalue()

"""Shared helpers for Genchi's official PDF documents (D7).

Documents embed BIZ UD Gothic (SIL OFL 1.1), bundled in genchi/core/fonts, so a machine
without Japanese system fonts still produces the same PDF. reportlab subsets and embeds
TrueType fonts (/FontFile2) automatically.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import segno
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

# Streams (pages, embedded JPEG photos) are written as binary, not as ASCII85 text: the
# text form is a quarter larger and reportlab encodes it in pure Python, which took a
# third of the report's time (docs/performance.md, "Closing the survey").
rl_config.useA85 = 0

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "BIZUDGothic"
FONT_BOLD = "BIZUDGothic-Bold"

_registered = False


def register_fonts() -> None:
    """Register the bundled Japanese fonts with reportlab (once per process)."""
    global _registered
    if _registered:
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "BIZUDGothic-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "BIZUDGothic-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)
    _registered = True


def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles for Japanese text (CJK line breaking)."""
    register_fonts()
    base = ParagraphStyle(
        "jp", fontName=FONT, fontSize=10, leading=14, wordWrap="CJK", textColor=colors.black
    )
    return {
        "body": base,
        "small": ParagraphStyle("jp-small", parent=base, fontSize=8, leading=10.5),
        "tiny": ParagraphStyle("jp-tiny", parent=base, fontSize=6.5, leading=8),
        "cell": ParagraphStyle("jp-cell", parent=base, fontSize=9, leading=12),
        "title": ParagraphStyle(
            "jp-title", parent=base, fontName=FONT_BOLD, fontSize=18, leading=24, alignment=1
        ),
        "heading": ParagraphStyle(
            "jp-heading", parent=base, fontName=FONT_BOLD, fontSize=11, leading=15
        ),
        "right": ParagraphStyle("jp-right", parent=base, alignment=2),
        "mono": ParagraphStyle("jp-mono", parent=base, fontSize=7.5, leading=9.5),
    }


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: data never becomes markup)."""
    from xml.sax.saxutils import escape

    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def grid_style(*extra: tuple) -> TableStyle:
    register_fonts()
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            *extra,
        ]
    )


def label_column_style(rows: int) -> tuple:
    """Shade the first column of a label/value table."""
    return ("BACKGROUND", (0, 0), (0, rows - 1), colors.Color(0.93, 0.93, 0.93))


class QrCode(Flowable):
    """A QR code drawn as vector squares (no image, sharp at any zoom)."""

    def __init__(self, data: str, size: float = 30 * mm, error: str = "m") -> None:
        super().__init__()
        self.qr = segno.make(data, error=error, micro=False)
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        matrix = [list(row) for row in self.qr.matrix]
        border = 2
        count = len(matrix) + 2 * border
        cell = self.size / count
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.black)
        for y, row in enumerate(matrix):
            for x, dark in enumerate(row):
                if dark:
                    # Drawn directly (not via reportlab.graphics, which pulls in Helvetica).
                    canvas.rect(
                        (x + border) * cell,
                        self.size - (y + border + 1) * cell,
                        cell,
                        cell,
                        stroke=0,
                        fill=1,
                    )
        canvas.restoreState()


def build_document(
    story: Sequence[Flowable],
    *,
    title: str,
    author: str = "Genchi",
    orientation: str = "portrait",
    footer: Callable[[Canvas, int], str] | None = None,
    margins_mm: float = 15,
) -> bytes:
    """Lay out `story` on A4 and return the PDF bytes. `footer(canvas, page)` → text."""
    register_fonts()
    out = io.BytesIO()
    pagesize = landscape(A4) if orientation == "landscape" else A4
    doc = SimpleDocTemplate(
        out,
        pagesize=pagesize,
        leftMargin=margins_mm * mm,
        rightMargin=margins_mm * mm,
        topMargin=margins_mm * mm,
        bottomMargin=(margins_mm + 5) * mm,
        title=title,
        author=author,
        creator="Genchi",
        subject=title,
        initialFontName=FONT,
        initialFontSize=10,
    )

    def on_page(canvas: Canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        text = footer(canvas, document.page) if footer else ""
        if text:
            canvas.drawString(margins_mm * mm, 10 * mm, text)
        canvas.drawRightString(pagesize[0] - margins_mm * mm, 10 * mm, f"{document.page} ページ")
        canvas.restoreState()

    doc.build(list(story), onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def seal_boxes(labels: Sequence[str], *, box_mm: float = 24) -> Table:
    """押印欄: one labelled square per party, side by side."""
    st = styles()
    header = [para(label, st["small"]) for label in labels]
    table = Table(
        [header, [""] * len(labels)],
        colWidths=[box_mm * mm] * len(labels),
        rowHeights=[7 * mm, box_mm * mm],
    )
    table.setStyle(grid_style(("ALIGN", (0, 0), (-1, 0), "CENTER")))
    return table


__all__ = [
    "FONT",
    "FONT_BOLD",
    "QrCode",
    "Table",
    "build_document",
    "grid_style",
    "label_column_style",
    "mm",
    "para",
    "register_fonts",
    "seal_boxes",
    "styles",
]

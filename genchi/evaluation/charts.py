"""The year-over-year chart, drawn on the server as SVG (no script, no CDN): grouped bars
of the rates per fiscal year. Text is escaped; colours are attributes (the page's CSP
allows no inline style)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from genchi.core.wareki import fiscal_year_label

from .selectors import Figures

SERIES = (
    ("confirmed_rate", "#1f6fb2"),
    ("resident_rate", "#7fb3e0"),
    ("contact_rate", "#d9822b"),
)
WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 64


def series_labels() -> dict[str, str]:
    return {
        "confirmed_rate": _("居住確認率"),
        "resident_rate": _("居住確認・推定率"),
        "contact_rate": _("連絡票後の接触率"),
    }


def rates_chart(years: list[Figures]) -> SafeString:
    labels = series_labels()
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(_("年度ごとの率"))}">'
    ]
    for pct in (0, 25, 50, 75, 100):
        y = TOP + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{pct}%</text>'
        )
    group = plot_w / max(len(years), 1)
    bar = group * 0.8 / len(SERIES)
    for i, year in enumerate(years):
        x0 = LEFT + i * group + group * 0.1
        for j, (name, colour) in enumerate(SERIES):
            value = getattr(year, name)
            if value is None:
                continue
            h = plot_h * value
            x = x0 + j * bar
            title = f"{fiscal_year_label(year.fiscal_year)} {labels[name]} {value * 100:.1f}%"
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar - 2:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(title)}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + group * 0.4:.1f}" y="{TOP + plot_h + 16}" font-size="12" '
            f'text-anchor="middle">{escape(fiscal_year_label(year.fiscal_year))}</text>'
        )
    for j, (name, colour) in enumerate(SERIES):
        x = LEFT + j * 190
        y = HEIGHT - 18
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y}" font-size="12">{escape(labels[name])}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped

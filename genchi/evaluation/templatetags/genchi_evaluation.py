"""Figures as the evaluation pages show them: rates in percent, yen with separators,
fiscal years in 和暦; a missing figure (nothing to divide by) is a dash."""

from __future__ import annotations

from django import template

from genchi.core.wareki import fiscal_year_label

register = template.Library()


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def yen(value) -> str:
    return "—" if value is None else f"{round(value):,}"


@register.filter
def ratio(value) -> str:
    return "—" if value is None else f"{value:,.2f}"


@register.filter
def fiscal_year(value) -> str:
    return fiscal_year_label(int(value))

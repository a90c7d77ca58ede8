"""Japanese-era dates (和暦) for official documents (D7): 令和8年4月1日, 令和元年5月1日.

Eras start on the day of the accession: 昭和 1926-12-25, 平成 1989-01-08, 令和 2019-05-01.
The first year of an era is written 元年. Datetimes are shown in the project's time zone.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

# (name, first day), newest first.
ERAS: tuple[tuple[str, dt.date], ...] = (
    ("令和", dt.date(2019, 5, 1)),
    ("平成", dt.date(1989, 1, 8)),
    ("昭和", dt.date(1926, 12, 25)),
)

# The initial each era is written with in forms and tax systems (R5, H30, S63).
ERA_INITIALS: dict[str, str] = {"令和": "R", "平成": "H", "昭和": "S"}
_ERA_BY_INITIAL = {initial: name for name, initial in ERA_INITIALS.items()}

WEEKDAYS = "月火水木金土日"


class WarekiError(ValueError):
    """The date lies before the earliest era this module knows (昭和), or the era is unknown."""


def era_of(day: dt.date) -> tuple[str, int]:
    """(era name, year of the era) for `day`, e.g. ("令和", 8)."""
    if isinstance(day, dt.datetime):
        day = _local(day).date()
    for name, start in ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    raise WarekiError(f"{day.isoformat()} は昭和より前の日付です")


def gregorian_year(era: str, year: int) -> int:
    """The Western year of `year` of `era`, given by name or initial (any case):
    ("令和", 5) → 2023, ("h", 30) → 2018, ("昭和", 1) → 1926."""
    start = dict(ERAS).get(_ERA_BY_INITIAL.get(era.upper(), era))
    if start is None:
        raise WarekiError(f"{era} は知らない元号です")
    return start.year + year - 1


def era_year(day: dt.date) -> str:
    """'令和8年', '令和元年'."""
    name, year = era_of(day)
    return f"{name}{'元' if year == 1 else year}年"


def format_date(day: dt.date, *, weekday: bool = False) -> str:
    """'令和8年4月1日' (optionally with '(水)')."""
    if isinstance(day, dt.datetime):
        day = _local(day).date()
    text = f"{era_year(day)}{day.month}月{day.day}日"
    if weekday:
        text += f"({WEEKDAYS[day.weekday()]})"
    return text


def format_datetime(moment: dt.datetime, *, seconds: bool = False) -> str:
    """'令和8年4月1日 14時05分' in the project's time zone."""
    local = _local(moment)
    text = f"{format_date(local.date())} {local.hour}時{local.minute:02d}分"
    if seconds:
        text += f"{local.second:02d}秒"
    return text


def fiscal_year_label(fiscal_year: int) -> str:
    """Japanese fiscal year (年度, April–March): 2026 → '令和8年度', 2019 → '令和元年度'.

    A fiscal year in which an era began is named after the new era (令和元年度 for
    April 2019 – March 2020), as municipal documents do."""
    name, _ = era_of(dt.date(fiscal_year + 1, 3, 31))
    start = dict(ERAS)[name]
    if start.year > fiscal_year:
        name, _ = era_of(dt.date(fiscal_year, 4, 1))
        start = dict(ERAS)[name]
    year = fiscal_year - start.year + 1
    return f"{name}{'元' if year == 1 else year}年度"


def _local(moment: dt.datetime) -> dt.datetime:
    if timezone.is_naive(moment):
        return moment
    return timezone.localtime(moment)

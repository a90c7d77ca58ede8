"""The survey's outcomes (DESIGN "The survey record"): one vocabulary for the whole chain.

A case's outcome is stored, shown, counted, written into the result package and read back
at the ward with these codes and nothing else: the contractor's visits and cases
(fieldwork), the report and its XLSX, the result package (whose allow-list is
`genchi.package_format.records.OUTCOMES`; that library cannot import this module, so
tests/core/test_outcomes.py checks the two agree), the ward's results, its summary and
the export for the tax system, and the tablet (which asks the server for `described()`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    """A case's conclusion; the rule for each is OUTCOME_RULES."""

    RESIDENT_CONFIRMED = "resident_confirmed", _("居住確認")
    RESIDENT_PRESUMED = "resident_presumed", _("居住推定")
    NOT_RESIDENT = "not_resident", _("不居住")
    WHEREABOUTS_UNKNOWN = "whereabouts_unknown", _("所在不明")
    NOT_SURVEYABLE = "not_surveyable", _("調査不能")


# What each outcome means, in one wording: beside the choice in the visit form, on the
# contractor's and the ward's case pages and on the ward's summary.
OUTCOME_RULES: dict[str, str] = {
    Outcome.RESIDENT_CONFIRMED: _("本人に会えた、または同居の家族から本人が住んでいると聞けた。"),
    Outcome.RESIDENT_PRESUMED: _(
        "本人には会えないが、表札・郵便受け・メーター・洗濯物などから住んでいると推定できる。"
    ),
    Outcome.NOT_RESIDENT: _("空き家である、または別の人が住んでいる(表札や聞き取りで確認)。"),
    Outcome.WHEREABOUTS_UNKNOWN: _("住所の場所に該当する建物や部屋が見つからない。"),
    Outcome.NOT_SURVEYABLE: _("オートロックや立入禁止などで、住んでいるかどうかを調べられない。"),
}

# The longest code, for the columns that store one.
MAX_LENGTH = 24


def rule_of(code: str) -> str:
    """The rule of an outcome code, in the active language ("" for none or unknown)."""
    rule = OUTCOME_RULES.get(code)
    return str(rule) if rule is not None else ""


def described() -> list[dict[str, str]]:
    """Every outcome as {"code", "label", "rule"}, in order, in the active language: what
    a page or the tablet shows beside the choice."""
    return [
        {"code": code, "label": str(label), "rule": rule_of(code)}
        for code, label in Outcome.choices
    ]

"""The formula guard (genchi.core.formulas): one rule for imports and every export, with
the leading whitespace Excel skips before it decides that a cell is a formula."""

from __future__ import annotations

import pytest

from genchi.core.formulas import looks_like_formula, neutralise_formula
from genchi.package_format.records import csv_cell
from genchi.transfer.ledger_docs import safe_cell

LEADING = ["", " ", "\t", "\r", "\n", "\r\n", "  \t", "\u3000", "\xa0"]
STARTS = ["=", "+", "-", "@", "＝", "＋", "－", "＠"]
HOSTILE = [lead + start + 'HYPERLINK("http://x","y")' for lead in LEADING for start in STARTS]
HARMLESS = ["山田 太郎", " 山田", "\t備考", "1001", "東京都新宿区西新宿2-8-1", "", " ", "a=b"]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_leading_whitespace_variant_is_a_formula_and_is_neutralised(text):
    assert looks_like_formula(text)
    for guard in (neutralise_formula, safe_cell, csv_cell):
        assert guard(text) == "'" + text, guard.__module__


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_text_is_left_alone(text):
    assert not looks_like_formula(text)
    expected = "'" + text if text.startswith(("\t", "\r")) else text
    for guard in (neutralise_formula, safe_cell, csv_cell):
        assert guard(text) == expected


def test_the_package_format_keeps_the_same_rule():
    """The format library cannot import genchi.core: its copy must agree on every case."""
    for text in [*HOSTILE, *HARMLESS, "\n=1", "\v=1", "\x0c+1", "\u2028@a"]:
        assert csv_cell(text) == neutralise_formula(text), repr(text)

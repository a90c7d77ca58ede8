"""The formula guard: one rule for every spreadsheet cell Genchi reads or writes.

Spreadsheet software runs a cell as a formula when its text starts with `=`, `+`, `-` or
`@` (half or full width), and Excel skips leading spaces, tabs and line breaks before
deciding. So a cell is formula-like when its first character after any leading
whitespace is one of those; an import refuses such a cell, and every export writes it
with a leading apostrophe. A cell starting with a TAB or CR is quoted as well (some
software takes them as cell separators). The package format keeps the same rule in its
own library (`genchi.package_format.records.csv_cell`), checked against this one by
tests/core/test_formulas.py.
"""

from __future__ import annotations

import unicodedata
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@")


def looks_like_formula(text: str) -> bool:
    """A cell whose first character after leading whitespace starts a formula."""
    rest = text.lstrip()
    if not rest:
        return False
    return unicodedata.normalize("NFKC", rest[0]).startswith(FORMULA_PREFIXES)


def neutralise_formula(value: Any) -> Any:
    """For every export: a text that could start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value and (looks_like_formula(value) or value[0] in "\t\r"):
        return "'" + value
    return value

"""Record schemas and the two record members (records.jsonl, records.csv)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from . import bounded_json
from .errors import Refused

# J3: the ward hands over these four items per taxpayer, nothing else, plus an opaque
# case reference that means nothing outside the contract.
CASE_FIELDS: tuple[tuple[str, str], ...] = (
    ("case_ref", "案件番号"),
    ("postal_code", "郵便番号"),
    ("address", "住所"),
    ("building_line", "方書"),
    ("name", "氏名"),
)
CASE_KEYS = frozenset(k for k, _ in CASE_FIELDS)
MAX_FIELD_CHARS = 1000
MAX_LINE_BYTES = 1024 * 1024

# A cell whose first character after leading whitespace is one of these is a formula for
# spreadsheet software (Excel skips spaces, tabs and line breaks first); one starting with
# TAB or CR is quoted too. The same rule as genchi.core.formulas, which this library
# cannot import.
_FORMULA_START = ("=", "+", "-", "@")


def default_columns(kind: str) -> tuple[tuple[str, str], ...] | None:
    return CASE_FIELDS if kind == "cases" else None


Problem = tuple[str, dict[str, str]]  # (reason, values for the message): errors.REASONS


def check_record(kind: str, record: Any) -> Problem | None:
    """Why `record` does not fit the schema of `kind`, or None if it does."""
    if not isinstance(record, Mapping):
        return "not_object", {}
    if any(not isinstance(k, str) for k in record):
        return "key_not_string", {}
    if kind == "cases":
        keys = set(record)
        if keys != CASE_KEYS:
            extra = ", ".join(sorted(keys - CASE_KEYS))
            missing = ", ".join(sorted(CASE_KEYS - keys))
            return "case_fields", {"extra": extra, "missing": missing}
        for key, _header in CASE_FIELDS:
            value = record[key]
            if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
                return "field_invalid", {"field": key}
        if not record["case_ref"]:
            return "empty_case_ref", {}
    elif kind == "results":
        ref = record.get("case_ref")
        if not isinstance(ref, str) or not ref:
            return "no_case_ref", {}
    return None


def jsonl_line(record: Mapping[str, Any]) -> bytes:
    return (
        json.dumps(
            record, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
        )
        + "\n"
    ).encode("utf-8")


def parse_jsonl_line(kind: str, line: bytes, number: int) -> dict[str, Any]:
    try:
        record = bounded_json.loads(line, max_bytes=MAX_LINE_BYTES)
    except bounded_json.JsonLimit as exc:
        reason = "line_not_json" if exc.kind == "not_json" else "line_json_limit"
        raise Refused(
            "bad_record", detail=f"line {number}: {exc}", reason=reason, line=number
        ) from None
    problem = check_record(kind, record)
    if problem:
        reason, values = problem
        raise Refused("bad_record", detail=f"line {number}", reason=reason, line=number, **values)
    return record


def csv_cell(value: Any) -> str:
    """Text of one CSV cell, neutralised so spreadsheet software never runs it as a formula."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    rest = text.lstrip()
    if text.startswith(("\t", "\r")) or (
        rest and unicodedata.normalize("NFKC", rest[0]).startswith(_FORMULA_START)
    ):
        text = "'" + text
    return text


class CsvEncoder:
    """records.csv: UTF-8 with BOM, CRLF line ends, header row, one row per record."""

    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        self._keys = [k for k, _ in columns]
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._writer.writerow([csv_cell(h) for _, h in columns])
        self._pending = "\ufeff" + self._take()

    def _take(self) -> str:
        text = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return text

    def header(self) -> bytes:
        text, self._pending = self._pending, ""
        return text.encode("utf-8")

    def row(self, record: Mapping[str, Any]) -> bytes:
        self._writer.writerow([csv_cell(record.get(k)) for k in self._keys])
        return self._take().encode("utf-8")

"""Record schemas and the two record members (records.jsonl, records.csv)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from .errors import PackageRefused

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

# A cell starting with one of these is a formula for spreadsheet software.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def default_columns(kind: str) -> tuple[tuple[str, str], ...] | None:
    return CASE_FIELDS if kind == "cases" else None


def check_record(kind: str, record: Any) -> str | None:
    """Why `record` does not fit the schema of `kind` (in the active language), or None if
    it does."""
    if not isinstance(record, Mapping):
        return _("レコードが JSON オブジェクトではありません")
    if any(not isinstance(k, str) for k in record):
        return _("項目名が文字列ではありません")
    if kind == "cases":
        keys = set(record)
        if keys != CASE_KEYS:
            extra = ", ".join(sorted(keys - CASE_KEYS))
            missing = ", ".join(sorted(CASE_KEYS - keys))
            none = _("なし")
            return _(
                "案件レコードの項目が J3 の4項目+案件番号と一致しません "
                "(余分: %(extra)s / 不足: %(missing)s)"
            ) % {"extra": extra or none, "missing": missing or none}
        for key in CASE_FIELDS:
            value = record[key[0]]
            if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
                return _("項目 %(field)s が文字列ではないか長すぎます") % {"field": key[0]}
        if not record["case_ref"]:
            return _("案件番号が空です")
    elif kind == "results":
        ref = record.get("case_ref")
        if not isinstance(ref, str) or not ref:
            return _("結果レコードに案件番号 (case_ref) がありません")
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
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PackageRefused(
            "bad_record",
            _("records.jsonl の %(number)d 行目が JSON として読めません。") % {"number": number},
        ) from None
    problem = check_record(kind, record)
    if problem:
        raise PackageRefused(
            "bad_record",
            _("records.jsonl の %(number)d 行目: %(problem)s。")
            % {"number": number, "problem": problem},
        )
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
    if text.startswith(_FORMULA_START):
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

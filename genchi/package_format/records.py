"""Record schemas and the two record members (records.jsonl, records.csv)."""

from __future__ import annotations

import csv
import io
import json
import re
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

# J4/J5: what the contractor returns per case (genchi/results/v1), nothing else: whether
# the person lives there (the outcome), the nameplate, the dwelling's photos, for a rented
# home the landlord or management company, and the work done (visits, contact slip).
# Free text never leaves the contractor (S3, S5): interviews and notes stay in its records.
RESULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("case_ref", "案件番号"),
    ("outcome", "調査結果"),
    ("decided_on", "判定日"),
    ("visit_count", "訪問回数"),
    ("visits", "訪問日時"),
    ("nameplate", "表札"),
    ("tenure", "持家・借家"),
    ("landlord", "大家・管理会社"),
    ("landlord_phone", "大家・管理会社の電話"),
    ("contact_slip", "連絡票"),
    ("photos", "写真"),
)
RESULT_KEYS = frozenset(k for k, _ in RESULT_FIELDS)
OUTCOMES = (
    "resident_confirmed",  # 居住確認: met the person
    "resident_presumed",  # 居住推定: signs of life
    "not_resident",  # 不居住: vacant, or someone else lives there
    "whereabouts_unknown",  # 所在不明: address or building not found
    "not_surveyable",  # 調査不能: could not survey (auto-lock, refused entry…)
)
NAMEPLATES = ("taxpayer", "other", "none", "")
TENURES = ("owned", "rented", "unknown", "")
CONTACT_SLIPS = ("in_person", "posted", "not_left", "")
MAX_VISITS = 50
MAX_PHOTOS = 50
MAX_FIELD_CHARS = 1000
MAX_LINE_BYTES = 1024 * 1024
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")

# A cell whose first character after leading whitespace is one of these is a formula for
# spreadsheet software (Excel skips spaces, tabs and line breaks first); one starting with
# TAB or CR is quoted too. The same rule as genchi.core.formulas, which this library
# cannot import.
_FORMULA_START = ("=", "+", "-", "@")


# The erasure certificate's CSV (genchi/certificate/v1, section 5.3): one row, the fields a
# person checks by eye; nested values are written as canonical JSON.
CERTIFICATE_FIELDS: tuple[tuple[str, str], ...] = (
    ("certificate_id", "証明書ID"),
    ("contract", "契約コード"),
    ("erased_at", "消去日時"),
    ("witnesses", "立会者"),
    ("counts", "消去件数"),
    ("destroyed_keys", "破棄した鍵"),
    ("log_head", "監査ログ先頭ハッシュ"),
)


# An incident report's CSV (genchi/incident/v1, section 5.4): one row, the first report
# as a person reads it; the steps so far are written as canonical JSON.
INCIDENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("incident_id", "事故報告ID"),
    ("contract", "契約コード"),
    ("number", "番号"),
    ("side", "報告した側"),
    ("kind", "種類"),
    ("occurred_at", "発生日時"),
    ("found_at", "発見日時"),
    ("found_by", "発見者"),
    ("summary", "概要"),
    ("first_actions", "初動の対応"),
    ("affected_refs", "対象の案件"),
    ("version", "版"),
    ("steps", "経過"),
)


def default_columns(kind: str) -> tuple[tuple[str, str], ...] | None:
    return {
        "cases": CASE_FIELDS,
        "results": RESULT_FIELDS,
        "certificate": CERTIFICATE_FIELDS,
        "incident": INCIDENT_FIELDS,
    }.get(kind)


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
        return _result_problem(record)
    return None


def _is_date(value: Any) -> bool:
    return isinstance(value, str) and _DATE.fullmatch(value) is not None


def _is_time(value: Any) -> bool:
    return isinstance(value, str) and _TIME.fullmatch(value) is not None


def _is_text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _is_visit(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and set(value) == {"on", "at"}
        and _is_date(value["on"])
        and _is_time(value["at"])
    )


_RESULT_CHECKS: dict[str, Any] = {
    "case_ref": lambda v: _is_text(v, 64),
    "outcome": lambda v: v in OUTCOMES,
    "decided_on": lambda v: v is None or _is_date(v),
    "visit_count": lambda v: type(v) is int and 0 <= v <= MAX_VISITS,
    "visits": lambda v: isinstance(v, list) and len(v) <= MAX_VISITS and all(map(_is_visit, v)),
    "nameplate": lambda v: v in NAMEPLATES,
    "tenure": lambda v: v in TENURES,
    "landlord": lambda v: _is_text(v, 200),
    "landlord_phone": lambda v: _is_text(v, 40),
    "contact_slip": lambda v: v in CONTACT_SLIPS,
    "photos": lambda v: (
        isinstance(v, list) and len(v) <= MAX_PHOTOS and all(_is_text(n, 200) and n for n in v)
    ),
}


def blank_result(case_ref: str, outcome: str = "not_surveyable") -> dict[str, Any]:
    """A genchi/results/v1 record with every item empty: the start of one."""
    return {
        "case_ref": case_ref,
        "outcome": outcome,
        "decided_on": None,
        "visit_count": 0,
        "visits": [],
        "nameplate": "",
        "tenure": "",
        "landlord": "",
        "landlord_phone": "",
        "contact_slip": "",
        "photos": [],
    }


def _result_problem(record: Mapping[str, Any]) -> Problem | None:
    """The allow-list of genchi/results/v1: exactly the J4/J5 keys, each of its type."""
    keys = set(record)
    if keys != RESULT_KEYS:
        extra = ", ".join(sorted(keys - RESULT_KEYS))
        missing = ", ".join(sorted(RESULT_KEYS - keys))
        return "result_fields", {"extra": extra, "missing": missing}
    for key, _header in RESULT_FIELDS:
        if not _RESULT_CHECKS[key](record[key]):
            return "result_field_invalid", {"field": key}
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

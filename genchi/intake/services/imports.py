"""The one import path of the tax division's list: read, prove every row, store all or none.

`check_file` is used by the UI (through import runs), `genchi cases import`, the demo and
the benchmark: it reads the file, proves every row and, when asked to store, stores every
good row in one transaction or nothing at all. Rows are proven first, outside any
transaction (the slow part), then written in one short transaction: a database with a
single writer (SQLite) is held only while rows are written, and a worker killed at any
moment leaves nothing half-stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from genchi.core.dbstats import refresh_statistics
from genchi.parties.models import Contract
from genchi.vault.fields import EncryptedTextField

from ..columns import ColumnMap, map_columns
from ..models import Case, ImportRun, new_case_ref
from ..reader import FileRefused, open_table
from ..validation import ERROR, WARNING, Issue, RowChecker

CHUNK = 2000
MAX_KEPT_ISSUES = 50_000
Progress = Callable[[int, int], None]


@dataclass
class ImportOptions:
    encoding: str = ""  # "" = detect; "utf-8" or "cp932" to override
    sheet: str = ""  # XLSX sheet name; "" = the first sheet
    mapping: dict[str, str] | None = None  # normalised header → field, chosen by hand
    exclude_rows: frozenset[int] = frozenset()  # rows the person explicitly excluded


@dataclass
class ImportReport:
    file_format: str = ""
    encoding: str = ""
    sheet_name: str = ""
    header: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    column_problems: list[str] = field(default_factory=list)
    total_rows: int = 0
    good_rows: int = 0
    warning_rows: int = 0
    error_rows: int = 0
    duplicate_rows: int = 0
    excluded_rows: int = 0
    imported: int = 0
    issues: list[Issue] = field(default_factory=list)
    issues_truncated: bool = False
    error_row_numbers: list[int] = field(default_factory=list)
    message: str = ""  # why the file as a whole was refused
    refused: bool = False
    stored: bool = False
    seconds: float = 0.0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == WARNING]

    def to_json(self) -> dict[str, Any]:
        """The shape `genchi cases import --json` prints."""
        errors = [{"row": i.row, "column": i.column, "message": i.message} for i in self.errors]
        if self.message and not errors:
            errors = [{"row": None, "column": "", "message": self.message}]
        return {
            "status": "stored" if self.stored else ("refused" if self.refused else "checked"),
            "imported": self.imported,
            "duplicates": self.duplicate_rows,
            "warnings": self.warning_rows,
            "errors": errors,
            "warning_details": [
                {"row": i.row, "column": i.column, "message": i.message} for i in self.warnings
            ],
            "rows": self.total_rows,
            "good": self.good_rows,
            "error_rows": self.error_rows,
            "excluded": self.excluded_rows,
            "message": self.message,
            "format": self.file_format,
            "encoding": self.encoding,
        }

    def to_store(self) -> dict[str, Any]:
        return {
            "issues": [i.to_dict() for i in self.issues],
            "issues_truncated": self.issues_truncated,
            "column_problems": self.column_problems,
            "header": self.header,
        }


def summary_message(report: ImportReport) -> str:
    if report.message:
        return report.message
    if report.stored:
        if report.imported == 0 and report.duplicate_rows:
            return _("新しい対象者はいませんでした(%(d)d 件はすべて登録済みです)。") % {
                "d": report.duplicate_rows
            }
        text = ngettext("%(n)d 件を登録しました。", "%(n)d 件を登録しました。", report.imported) % {
            "n": report.imported
        }
        if report.duplicate_rows:
            text += _("重複 %(d)d 件は取り込みませんでした。") % {"d": report.duplicate_rows}
        return text
    if report.error_rows:
        return _(
            "エラーのある行が %(n)d 行あるため、取り込みません(何も登録していません)。"
            "ファイルを直すか、エラー行を除外してください。"
        ) % {"n": report.error_rows}
    return _("検査しました: 登録できる行 %(g)d 件(うち警告あり %(w)d 件)、重複 %(d)d 件。") % {
        "g": report.good_rows + report.warning_rows,
        "w": report.warning_rows,
        "d": report.duplicate_rows,
    }


# ---------------------------------------------------------------------------------------
# The one import path
# ---------------------------------------------------------------------------------------


_CASE_VALUES = (
    "name",
    "postal_code",
    "address",
    "building_line",
    "taxpayer_no",
    "name_kana",
    "ward_notes",
    "town",
    "rest",
    "lat",
    "lng",
    "geocode_level",
)


class NewCase:
    """A validated row about to be stored: the values of a Case without ORM overhead."""

    __slots__ = (*_CASE_VALUES, "contract_id", "ref", "status", "pref", "city",
                 "identity_key", "name_key", "taxpayer_key", "import_run_id",
                 "source_row")  # fmt: skip

    def __init__(self, contract: Contract, result, run: ImportRun | None) -> None:
        v = result.values
        for name in _CASE_VALUES:
            setattr(self, name, v[name])
        self.contract_id = contract.pk
        self.ref = new_case_ref()
        self.status = Case.Status.IMPORTED
        self.pref = v["pref"][:8]
        self.city = v["city"][:32]
        self.identity_key = result.identity_key
        self.name_key = result.name_key
        self.taxpayer_key = result.taxpayer_key
        self.import_run_id = run.pk if run else None
        self.source_row = result.row

    def as_case(self) -> Case:
        return Case(**{name: getattr(self, name) for name in self.__slots__})


_PLAIN_COLUMNS = {
    "contract": lambda c: c.contract_id,
    "ref": lambda c: c.ref,
    "status": lambda c: c.status,
    "pref": lambda c: c.pref,
    "city": lambda c: c.city,
    "geocode_level": lambda c: c.geocode_level,
    "identity_key": lambda c: c.identity_key,
    "name_key": lambda c: c.name_key,
    "taxpayer_key": lambda c: c.taxpayer_key,
    "import_run": lambda c: c.import_run_id,
    "source_row": lambda c: c.source_row,
}


def _insert_cases(cases: list[NewCase]) -> None:
    """Insert a chunk of new cases, every personal field encrypted under the ward's key.

    The same as ``bulk_create`` (each EncryptedTextField value goes through the field's
    own `encrypt_for`, as in `pre_save`), minus the ORM's per-field overhead,
    which dominated a 100,000-row import. Any field this does not know falls back to
    ``bulk_create``, so a new model field can never be skipped silently.
    """
    fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
    known = set(_PLAIN_COLUMNS) | {"created_at"}
    encrypted = [f for f in fields if isinstance(f, EncryptedTextField)]
    if any(f.name not in known and f not in encrypted for f in fields):
        Case.objects.bulk_create([c.as_case() for c in cases], batch_size=500)
        return
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    getters = []
    for f in fields:
        if f in encrypted:
            getters.append(_encrypting_getter(f))
        elif f.name == "created_at":
            getters.append(lambda c, _v=created: _v)
        else:
            getters.append(_PLAIN_COLUMNS[f.name])
    table = connection.ops.quote_name(Case._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        cursor.executemany(sql, [tuple(get(c) for get in getters) for c in cases])


def _encrypting_getter(f) -> Callable[[NewCase], str]:
    encrypt_for, attname = f.encrypt_for, f.attname

    def get(case: NewCase) -> str:
        value = getattr(case, attname)
        if value is None or value == "":
            return value
        return encrypt_for(case.contract_id, case.ref, str(value))

    return get


def check_file(
    contract: Contract,
    data: bytes,
    *,
    filename: str = "",
    options: ImportOptions | None = None,
    store: bool = False,
    run: ImportRun | None = None,
    progress: Progress | None = None,
    storing: Progress | None = None,
    then: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Prove every row; with `store`, store every good row in one transaction or none.

    `progress` hears of rows proven, `storing` of rows written; `then(report)` runs
    inside the storing transaction once every row is written, so the caller records its
    outcome in the same commit as the rows."""
    started = time.monotonic()
    options = options or ImportOptions()
    report = ImportReport()
    try:
        table = open_table(data, filename=filename, encoding=options.encoding, sheet=options.sheet)
    except FileRefused as exc:
        report.refused, report.message = True, exc.message
        return report
    report.file_format, report.encoding, report.sheet_name = (
        table.file_format,
        table.encoding,
        table.sheet_name,
    )
    report.header = table.header
    colmap: ColumnMap = map_columns(table.header, options.mapping)
    report.mapping = colmap.as_mapping()
    if not colmap.ok:
        report.column_problems = colmap.problems()
        report.refused = True
        report.message = " ".join(report.column_problems)
        if table.encoding == "cp932" and _looks_misdecoded(table.header):
            report.message += " " + _(
                "見出しが文字化けしています。文字コードが UTF-8 / Shift_JIS(CP932) 以外の"
                "可能性があります。"
            )
        return report

    checker = RowChecker(colmap, contract_id=contract.pk, home_city=contract.ward.home_city or "")
    held = set(Case.objects.filter(contract=contract).values_list("identity_key", flat=True))
    seen: dict[str, int] = {}
    pending: list[NewCase] = []
    estimated = max(table.estimated_rows, 1)

    def keep(issues: Iterable[Issue]) -> None:
        for issue in issues:
            if len(report.issues) < MAX_KEPT_ISSUES:
                report.issues.append(issue)
            else:
                report.issues_truncated = True

    def walk() -> None:
        for number, cells in table.rows:
            report.total_rows += 1
            if progress and report.total_rows % 1000 == 0:
                progress(report.total_rows, max(estimated, report.total_rows))
            if number in options.exclude_rows:
                report.excluded_rows += 1
                continue
            result = checker.check(number, cells)
            keep(result.issues)
            if result.has_error:
                report.error_rows += 1
                report.error_row_numbers.append(number)
                pending.clear()
                continue
            first = seen.get(result.identity_key)
            if first is not None:
                report.duplicate_rows += 1
                keep(
                    [
                        Issue(
                            number,
                            "",
                            "",
                            _("%(first)d 行目と同じ人・同じ住所です。取り込みません。")
                            % {"first": first},
                            WARNING,
                        )
                    ]
                )
                continue
            seen[result.identity_key] = number
            if result.identity_key in held:
                report.duplicate_rows += 1
                continue
            if result.has_warning:
                report.warning_rows += 1
            else:
                report.good_rows += 1
            if store and not report.error_rows:
                pending.append(NewCase(contract, result, run))

    def write() -> None:
        with transaction.atomic():
            for start in range(0, len(pending), CHUNK):
                _insert_cases(pending[start : start + CHUNK])
                report.imported += len(pending[start : start + CHUNK])
                if storing:
                    storing(report.imported, len(pending))
            report.stored = True
            if then:
                then(report)

    try:
        walk()
        if store and report.total_rows and not report.error_rows:
            write()
            refresh_statistics()  # the table grew: SQLite plans from fresh statistics
    except FileRefused as exc:
        report.refused, report.message = True, exc.message
    except IntegrityError:  # another import stored the same person meanwhile
        report.refused = True
        report.message = _("同時に行われた別の取込と重複しました。もう一度お試しください。")
    if not report.stored:
        report.imported = 0
    if report.total_rows == 0 and not report.message:
        report.refused = True
        report.message = _("見出し行だけで、データ行がありません。")
    elif report.error_rows and not report.message:
        report.refused = True
    if progress:
        progress(report.total_rows, report.total_rows)
    report.seconds = time.monotonic() - started
    return report


def _looks_misdecoded(header: list[str]) -> bool:
    text = "".join(header)
    halfwidth = sum(1 for ch in text if "\uff61" <= ch <= "\uff9f")
    return bool(text) and halfwidth * 3 >= len(text)

"""The one import path of the tax division's list: read, prove every row, store all or none.

`check_file` is used by the UI (through import runs), `genchi cases import`, the demo and
the benchmark: it reads the file, proves every row and, when asked to store, stores every
good row in one transaction or nothing at all. Rows are proven first, outside any
transaction (the slow part), then written in one short transaction: a database with a
single writer (SQLite) is held only while rows are written, and a worker killed at any
moment leaves nothing half-stored.
"""

from __future__ import annotations

import hashlib
import marshal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from genchi.core.dbstats import refresh_statistics
from genchi.core.memory import return_large_buffers
from genchi.parties.models import Contract
from genchi.vault.fields import EncryptedTextField

from ..columns import ColumnMap, map_columns
from ..messages import Part, part, render
from ..models import Case, ImportRun, new_case_ref
from ..reader import FileRefused, Source, open_table
from ..validation import DUPLICATE, ERROR, WARNING, Issue, RowChecker

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
    column_problems: list[list[Part]] = field(default_factory=list)
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
    reason: list[Part] = field(default_factory=list)  # why the file as a whole was refused
    refused: bool = False
    stored: bool = False
    seconds: float = 0.0

    @property
    def message(self) -> str:
        """Why the file as a whole was refused, in the active language ("" if it was not)."""
        return render(self.reason)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == WARNING]

    @property
    def duplicates(self) -> list[Issue]:
        return [i for i in self.issues if i.level == DUPLICATE]

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
            "duplicate_details": [{"row": i.row, "message": i.message} for i in self.duplicates],
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
            "excluded": self.excluded_rows,
            "header": self.header,
        }


def summary_parts(report: ImportReport) -> list[Part]:
    """The outcome of a check or a commit, as stored parts (rendered when shown)."""
    if report.reason:
        return report.reason
    if report.stored:
        if report.imported == 0 and report.duplicate_rows:
            return [
                part(
                    N_("新しい対象者はいませんでした(%(d)d 件はすべて登録済みです)。"),
                    d=report.duplicate_rows,
                )
            ]
        parts = [
            part(
                N_("%(n)d 件を登録しました。"),
                plural=N_("%(n)d 件を登録しました。"),
                count="n",
                n=report.imported,
            )
        ]
        if report.excluded_rows:
            parts.append(part(N_("エラーのある %(e)d 行を除外しました。"), e=report.excluded_rows))
        if report.duplicate_rows:
            parts.append(part(N_("重複 %(d)d 件は取り込みませんでした。"), d=report.duplicate_rows))
        return parts
    if report.error_rows:
        return [
            part(
                N_(
                    "エラーのある行が %(n)d 行あるため、取り込みません(何も登録していません)。"
                    "ファイルを直すか、エラー行を除外してください。"
                ),
                n=report.error_rows,
            )
        ]
    if not report.good_rows + report.warning_rows and report.duplicate_rows:
        return [
            part(
                N_(
                    "検査しました: %(d)d 行はすべて重複(登録済み、またはファイル内の重複)で、"
                    "新しく登録する行はありません。"
                ),
                d=report.duplicate_rows,
            )
        ]
    return [
        part(
            N_("検査しました: 登録できる行 %(g)d 件(うち警告あり %(w)d 件)、重複 %(d)d 件。"),
            g=report.good_rows + report.warning_rows,
            w=report.warning_rows,
            d=report.duplicate_rows,
        )
    ]


def summary_message(report: ImportReport) -> str:
    """The outcome in the active language (the command line, the audit entry)."""
    return render(summary_parts(report))


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
    "status": lambda c: str(c.status),  # a plain str: TextChoices do not marshal
    "pref": lambda c: c.pref,
    "city": lambda c: c.city,
    "geocode_level": lambda c: c.geocode_level,
    "identity_key": lambda c: c.identity_key,
    "name_key": lambda c: c.name_key,
    "taxpayer_key": lambda c: c.taxpayer_key,
    "import_run": lambda c: c.import_run_id,
    "source_row": lambda c: c.source_row,
}


class _ProvenRows:
    """The proven rows waiting for the storing transaction, bounded in memory.

    Each row is encrypted as it is proven (every personal field through the field's own
    `encrypt_for`, as `pre_save` does) and its column values go, a chunk at a time, to an
    unnamed temporary file: ciphertext and the columns the table keeps clear anyway,
    never plaintext. The storing transaction then reads the chunks back and inserts them
    with `executemany`, so memory holds one chunk whatever the size of the file, and the
    write lock is held only for the inserts (the encryption is done before it).

    This replaces ``bulk_create`` (the ORM's per-field overhead dominated a 100,000-row
    import). If the `Case` model gains a field this code does not know, the rows are kept
    as `Case` objects in memory and stored with ``bulk_create`` instead, so a new field
    can never be skipped silently (memory then grows with the file again).
    """

    def __init__(self) -> None:
        fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
        encrypted = [f for f in fields if isinstance(f, EncryptedTextField)]
        known = set(_PLAIN_COLUMNS) | {"created_at"}
        self.fast = not any(f.name not in known and f not in encrypted for f in fields)
        self.count = 0
        self._chunk: list[Any] = []
        self._file: Any = None
        if not self.fast:
            return
        # created_at goes last: it is set when the rows are written, not when proven.
        self._fields = [f for f in fields if f.name != "created_at"]
        self._getters = [
            _encrypting_getter(f) if f in encrypted else _PLAIN_COLUMNS[f.name]
            for f in self._fields
        ]
        self._has_created = any(f.name == "created_at" for f in fields)

    def add(self, case: NewCase) -> None:
        self.count += 1
        if not self.fast:
            self._chunk.append(case.as_case())
            return
        self._chunk.append(tuple(get(case) for get in self._getters))
        if len(self._chunk) >= CHUNK:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        marshal.dump(self._chunk, self._file)
        self._chunk = []

    def clear(self) -> None:
        """An error row: nothing of this file will be stored, drop what was kept."""
        self.close()
        self.count = 0

    def close(self) -> None:
        self._chunk = []
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, storing: Progress | None) -> int:
        """Insert every kept row (inside the caller's transaction); how many were written."""
        written = 0
        if not self.fast:
            for start in range(0, len(self._chunk), CHUNK):
                part = self._chunk[start : start + CHUNK]
                Case.objects.bulk_create(part, batch_size=500)
                written += len(part)
                if storing:
                    storing(written, self.count)
            return written
        fields = self._fields + ([Case._meta.get_field("created_at")] if self._has_created else [])
        table = connection.ops.quote_name(Case._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - model names
        tail = (
            (connection.ops.adapt_datetimefield_value(timezone.now()),) if self._has_created else ()
        )
        with connection.cursor() as cursor:
            for chunk in self._chunks():
                cursor.executemany(sql, [row + tail for row in chunk])
                written += len(chunk)
                if storing:
                    storing(written, self.count)
        return written

    def _chunks(self) -> Iterator[list[tuple]]:
        if self._file is not None:
            self._file.seek(0)
            while True:
                try:
                    yield marshal.load(self._file)  # noqa: S302 - our own unnamed file, this run's
                except EOFError:
                    break
        if self._chunk:
            yield self._chunk


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
    data: bytes | Source,
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
    return_large_buffers()  # a freed copy of the file leaves resident memory (core.memory)
    options = options or ImportOptions()
    report = ImportReport()
    try:
        table = open_table(data, filename=filename, encoding=options.encoding, sheet=options.sheet)
    except FileRefused as exc:
        report.refused, report.reason = True, exc.parts
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
        report.reason = [p for problem in report.column_problems for p in problem]
        if table.encoding == "cp932" and _looks_misdecoded(table.header):
            report.reason.append(
                part(
                    N_(
                        "見出しが文字化けしています。文字コードが UTF-8 / Shift_JIS(CP932) 以外の"
                        "可能性があります。"
                    )
                )
            )
        return report

    checker = RowChecker(colmap, contract_id=contract.pk, home_city=contract.ward.home_city or "")
    # Duplicate detection keeps one key per row: 128 bits as an int rather than 64 hex
    # characters (≈ 130 bytes a row with the dictionary's own cost: ≈ 40 MB at 300,000
    # rows), the one part of an import's memory that grows with the rows.
    held = {
        _key_bytes(k)
        for k in Case.objects.filter(contract=contract)
        .values_list("identity_key", flat=True)
        .iterator(chunk_size=CHUNK)
    }
    seen: dict[int, int] = {}
    pending = _ProvenRows() if store else None
    estimated = table.estimated_rows

    def keep(issues: Iterable[Issue]) -> None:
        for issue in issues:
            if len(report.issues) < MAX_KEPT_ISSUES:
                report.issues.append(issue)
            else:
                report.issues_truncated = True

    def walk() -> None:
        if progress:  # the bar starts at the file's real estimate, not at "0 / 1"
            progress(0, table.estimated_rows)
        for number, cells in table.rows:
            report.total_rows += 1
            if progress and report.total_rows % 1000 == 0:
                progress(report.total_rows, max(estimated, report.total_rows))
            if number in options.exclude_rows:
                report.excluded_rows += 1
                continue
            result = checker.check(number, cells)
            if result.has_error:
                # The row's errors only: its warnings would count a row the warning
                # table does not (it is not registered anyway).
                keep(i for i in result.issues if i.level == ERROR)
                report.error_rows += 1
                report.error_row_numbers.append(number)
                if pending is not None:
                    pending.clear()
                continue
            key = _key_bytes(result.identity_key)
            first = seen.get(key)
            if first is not None:
                report.duplicate_rows += 1
                keep(
                    [
                        _duplicate(
                            number,
                            part(
                                N_("%(first)d 行目と同じ人・同じ住所です。取り込みません。"),
                                first=first,
                            ),
                        )
                    ]
                )
                continue
            seen[key] = number
            if key in held:
                report.duplicate_rows += 1
                keep(
                    [
                        _duplicate(
                            number,
                            part(N_("登録済みの案件と同じ人・同じ住所です。取り込みません。")),
                        )
                    ]
                )
                continue
            keep(result.issues)
            if result.has_warning:
                report.warning_rows += 1
            else:
                report.good_rows += 1
            if pending is not None and not report.error_rows:
                pending.add(NewCase(contract, result, run))

    def write() -> None:
        with transaction.atomic():
            report.imported = pending.write(storing)
            report.stored = True
            if then:
                then(report)

    try:
        walk()
        if store and report.total_rows and not report.error_rows:
            write()
            refresh_statistics()  # the table grew: SQLite plans from fresh statistics
    except FileRefused as exc:
        report.refused, report.reason = True, exc.parts
    except IntegrityError:  # another import stored the same person meanwhile
        report.refused = True
        report.reason = [part(N_("同時に行われた別の取込と重複しました。もう一度お試しください。"))]
    finally:
        if pending is not None:
            pending.close()
    if not report.stored:
        report.imported = 0
    if report.total_rows == 0 and not report.reason:
        report.refused = True
        report.reason = [part(N_("見出し行だけで、データ行がありません。"))]
    elif report.error_rows and not report.reason:
        report.refused = True
    if progress:
        progress(report.total_rows, report.total_rows)
    report.seconds = time.monotonic() - started
    return report


def _duplicate(row: int, reason: Part) -> Issue:
    return Issue(row, "", "", [reason], DUPLICATE)


def _key_bytes(identity_key: str) -> int:
    """A blind index (64 hex digits) as its first 128 bits, an int: a third of the memory
    of the hex string in the duplicate sets; 128 bits cannot collide in any list (the
    database's unique constraint holds the whole index). Any other form: its hash text."""
    try:
        return int(identity_key[:32], 16)
    except ValueError:
        return int.from_bytes(hashlib.sha256(identity_key.encode()).digest()[:16], "big")


def _looks_misdecoded(header: list[str]) -> bool:
    text = "".join(header)
    halfwidth = sum(1 for ch in text if "\uff61" <= ch <= "\uff9f")
    return bool(text) and halfwidth * 3 >= len(text)

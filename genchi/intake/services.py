"""Writes of the intake: importing the list (all or nothing), correcting addresses, batches.

The one import path — used by the UI, `genchi cases import`, the demo and the benchmark —
is `check_file`: it reads the file, proves every row and, when asked to store, stores
every good row in one transaction or nothing at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from genchi.audit.chain import record
from genchi.parties.models import Contract
from genchi.vault.fields import EncryptedTextField, encrypt_value

from . import sealing
from .columns import ColumnMap, map_columns
from .models import Batch, BatchItem, Case, ImportRun, MappingPreset, new_case_ref
from .reader import FileRefused, open_table
from .validation import ERROR, WARNING, Issue, RowChecker

logger = logging.getLogger(__name__)
CHUNK = 2000
MAX_KEPT_ISSUES = 50_000
Progress = Callable[[int, int], None]


class ImportRefused(Exception):
    """Raised inside the storing transaction to roll every row back."""


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
                 "identity_key", "import_run_id", "source_row")  # fmt: skip

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
    "import_run": lambda c: c.import_run_id,
    "source_row": lambda c: c.source_row,
}


def _insert_cases(cases: list[NewCase]) -> None:
    """Insert a chunk of new cases, every personal field encrypted under the contract key.

    The same as ``bulk_create`` (each EncryptedTextField value goes through the vault's
    `encrypt_value` with the field's own label), minus the ORM's per-field overhead,
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
    label, attname = f.label, f.attname

    def get(case: NewCase) -> str:
        value = getattr(case, attname)
        if value is None or value == "":
            return value
        return encrypt_value(case.contract_id, label, str(value))

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
) -> ImportReport:
    """Prove every row; with `store`, store every good row in one transaction or none."""
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

    def flush() -> None:
        if pending:
            _insert_cases(pending)
            report.imported += len(pending)
            pending.clear()

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
                if len(pending) >= CHUNK:
                    flush()

    try:
        if store:
            with transaction.atomic():
                walk()
                if report.total_rows == 0 or report.error_rows:
                    raise ImportRefused
                flush()
                report.stored = True
        else:
            walk()
    except ImportRefused:
        report.imported = 0
    except FileRefused as exc:
        report.imported = 0
        report.refused, report.message = True, exc.message
    except IntegrityError:  # another import stored the same person meanwhile
        report.imported = 0
        report.refused = True
        report.message = _("同時に行われた別の取込と重複しました。もう一度お試しください。")
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


# ---------------------------------------------------------------------------------------
# Import runs: upload → check (preview) → commit
# ---------------------------------------------------------------------------------------

# Progress of background checks and commits: counts only, never personal data. Kept in
# this process's memory and mirrored to a small file under the data folder, so a server
# running several processes shows the bar whichever process answers the poll.
_progress_lock = threading.Lock()
_progress: dict[int, tuple[int, int]] = {}
_PROGRESS_FILE_INTERVAL = 0.5  # seconds between file updates
# While a job runs, its progress file is touched every HEARTBEAT seconds, whatever the
# job is doing; a busy run whose file is older than STALE_AFTER lost its process (server
# restarted or killed) and is marked interrupted, instead of spinning forever.
HEARTBEAT = 5.0
STALE_AFTER = 60.0


def _progress_path(run_id: int) -> Path:
    return Path(settings.DATA_DIR) / "progress" / f"import-{int(run_id)}.json"


def progress_of(run_id: int) -> tuple[int, int] | None:
    with _progress_lock:
        here = _progress.get(run_id)
    if here is not None:
        return here
    try:
        data = json.loads(_progress_path(run_id).read_text())
        return int(data["done"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_progress_file(run_id: int, done: int, total: int) -> None:
    path = _progress_path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps({"done": done, "total": total}))
    tmp.replace(path)


def _clear_progress(run_id: int) -> None:
    with _progress_lock:
        _progress.pop(run_id, None)
    _progress_path(run_id).unlink(missing_ok=True)


def _progress_for(run_id: int) -> Progress:
    last_write = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last_write
        with _progress_lock:
            _progress[run_id] = (done, total)
        now = time.monotonic()
        if now - last_write >= _PROGRESS_FILE_INTERVAL or done >= total:
            last_write = now
            with contextlib.suppress(OSError):  # the bar is a courtesy, never a failure
                _write_progress_file(run_id, done, total)

    return report


@contextlib.contextmanager
def _heartbeat(run_id: int) -> Iterator[None]:
    """Touch the run's progress file every HEARTBEAT seconds while the block runs, in
    whichever process runs it (web or command line); see is_busy."""
    finished = threading.Event()
    path = _progress_path(run_id)

    def beat() -> None:
        while not finished.wait(HEARTBEAT):
            with contextlib.suppress(OSError):
                os.utime(path)

    _progress_for(run_id)(0, 1)  # the file exists from the first moment
    thread = threading.Thread(target=beat, name=f"intake-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        thread.join()
        _clear_progress(run_id)


def _apply_counts(run: ImportRun, report: ImportReport) -> None:
    run.file_format = report.file_format or run.file_format
    run.encoding = report.encoding
    run.sheet_name = report.sheet_name or run.sheet_name
    run.total_rows = report.total_rows
    run.good_rows = report.good_rows
    run.warning_rows = report.warning_rows
    run.error_rows = report.error_rows
    run.duplicate_rows = report.duplicate_rows
    run.error_row_numbers = report.error_row_numbers[:MAX_KEPT_ISSUES]
    run.message = summary_message(report)


def _audit_detail(run: ImportRun, report: ImportReport) -> dict[str, Any]:
    return {
        "run": run.pk,
        "filename": run.filename,
        "sha256": run.file_sha256,
        "format": report.file_format,
        "encoding": report.encoding,
        "rows": report.total_rows,
        "good": report.good_rows,
        "warnings": report.warning_rows,
        "errors": report.error_rows,
        "duplicates": report.duplicate_rows,
        "excluded": report.excluded_rows,
        "imported": report.imported,
        "reason": report.message[:300],
    }


def create_run(
    contract: Contract,
    data: bytes,
    *,
    filename: str,
    options: ImportOptions | None = None,
    user=None,
    channel: str = "web",
    keep_file: bool = True,
) -> ImportRun:
    """Register an upload; the file is kept only encrypted under the contract's key."""
    options = options or ImportOptions()
    run = ImportRun.objects.create(
        contract=contract,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        channel=channel,
        filename=(filename or "")[-255:],
        file_size=len(data),
        file_sha256=hashlib.sha256(data).hexdigest(),
        encoding_override=options.encoding,
        sheet_name=options.sheet,
        mapping=options.mapping or {},
    )
    if keep_file:
        run.payload = sealing.seal(contract.pk, run.pk, "file", data)
        run.save(update_fields=["payload"])
    record(
        "intake.import.uploaded",
        obj=run,
        contract=contract,
        detail={"run": run.pk, "filename": run.filename, "sha256": run.file_sha256},
    )
    return run


def _options_of(run: ImportRun, exclude_rows: Iterable[int] = ()) -> ImportOptions:
    return ImportOptions(
        encoding=run.encoding_override,
        sheet=run.sheet_name,
        mapping=run.mapping or None,
        exclude_rows=frozenset(exclude_rows),
    )


def _prove(
    run: ImportRun,
    data: bytes,
    *,
    store: bool,
    excluded: Iterable[int] = (),
    progress: Progress | None = None,
) -> ImportReport:
    """Check (and with `store`, store) the run's file; the run takes the counts and the
    sealed report (the caller saves it)."""
    report = check_file(
        run.contract,
        data,
        filename=run.filename,
        options=_options_of(run, excluded),
        store=store,
        run=run,
        progress=progress or _progress_for(run.pk),
    )
    _apply_counts(run, report)
    run.report = sealing.seal_json(run.contract_id, run.pk, "report", report.to_store())
    return report


def _log_outcome(action: str, run: ImportRun, report: ImportReport) -> None:
    record(action, obj=run, contract=run.contract, detail=_audit_detail(run, report))


def check_run(run: ImportRun, *, progress: Progress | None = None) -> ImportReport:
    """The preview: prove every row and keep the (encrypted) report; stores no case."""
    with _heartbeat(run.pk):
        data = sealing.unseal(run.pk, "file", run.payload)
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.CHECKING)
        report = _prove(run, data, store=False, progress=progress)
        run.status = ImportRun.Status.REFUSED if report.message else ImportRun.Status.CHECKED
        run.checked_at = timezone.now()
        run.save()
        _log_outcome(
            "intake.import.refused" if report.message else "intake.import.checked", run, report
        )
        return report


def claim_commit(run: ImportRun) -> bool:
    """Checked → committing, once: a second click or a second tab cannot commit twice."""
    claimed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.CHECKED).update(
        status=ImportRun.Status.COMMITTING
    )
    if claimed:
        run.status = ImportRun.Status.COMMITTING
    return bool(claimed)


def commit_run(
    run: ImportRun, *, exclude_error_rows: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Store every good row of a checked run, or nothing."""
    if run.status == ImportRun.Status.CHECKED:
        if not claim_commit(run):
            raise ValidationError(_("この取込はすでに登録処理中です。"))
    elif run.status != ImportRun.Status.COMMITTING:
        raise ValidationError(_("この取込は登録できる状態ではありません。"))
    if run.error_rows and not exclude_error_rows:
        raise ValidationError(
            _("エラーのある行があります。ファイルを直すか、エラー行を除外してください。")
        )
    with _heartbeat(run.pk):
        excluded = list(run.error_row_numbers) if exclude_error_rows else []
        data = sealing.unseal(run.pk, "file", run.payload)
        report = _prove(run, data, store=True, excluded=excluded, progress=progress)
        run.excluded_rows = excluded
        if report.stored:
            run.status = ImportRun.Status.COMMITTED
            run.imported_rows = report.imported
            run.committed_at = timezone.now()
            run.payload = b""  # the file is no longer needed once its rows are stored
        else:
            run.status = ImportRun.Status.REFUSED
        run.save()
        _log_outcome(
            "intake.import.committed" if report.stored else "intake.import.refused", run, report
        )
        return report


def import_file(
    contract: Contract,
    data: bytes,
    *,
    filename: str = "",
    options: ImportOptions | None = None,
    dry_run: bool = False,
    user=None,
    channel: str = "cli",
    progress: Progress | None = None,
) -> tuple[ImportRun, ImportReport]:
    """Check and (unless `dry_run`) store in one go — the CLI, demo and benchmark path."""
    options = options or ImportOptions()
    run = create_run(
        contract,
        data,
        filename=filename,
        options=options,
        user=user,
        channel=channel,
        keep_file=False,
    )
    report = check_file(
        contract,
        data,
        filename=filename,
        options=options,
        store=not dry_run,
        run=run,
        progress=progress,
    )
    _apply_counts(run, report)
    run.excluded_rows = sorted(options.exclude_rows)
    run.checked_at = timezone.now()
    if report.stored:
        run.status = ImportRun.Status.COMMITTED
        run.imported_rows = report.imported
        run.committed_at = run.checked_at
    else:
        run.status = ImportRun.Status.REFUSED if report.message else ImportRun.Status.CHECKED
    run.save()
    action = (
        "intake.import.committed"
        if report.stored
        else ("intake.import.refused" if report.message else "intake.import.checked")
    )
    _log_outcome(action, run, report)
    return run, report


def run_in_background(run_id: int, work: Callable[[ImportRun], Any]) -> threading.Thread:
    """Run a check or commit off the request, so the page can show a progress bar."""
    import contextvars

    context = contextvars.copy_context()
    _progress_for(run_id)(0, 1)

    def target() -> None:
        close_old_connections()
        try:
            run = ImportRun.objects.select_related("contract__ward").get(pk=run_id)
            work(run)
        except Exception as exc:  # the page must never spin forever
            logger.exception("intake background job failed (run %s)", run_id)
            ImportRun.objects.filter(pk=run_id).update(
                status=ImportRun.Status.REFUSED,
                message=_("処理中にエラーが発生しました。何も登録していません。"),
            )
            record(
                "intake.import.failed",
                object_type="intake.importrun",
                object_id=run_id,
                detail={"error": type(exc).__name__},
            )
        finally:
            _clear_progress(run_id)
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=context.run, args=(target,), daemon=True)
    thread.start()
    return thread


def is_busy(run: ImportRun) -> bool:
    """Whether a check or commit of `run` is still under way. A run left busy by a process
    that died (no heartbeat for STALE_AFTER seconds) is marked interrupted and is not: an
    interrupted check is refused (upload again); an interrupted commit goes back to
    checked, ready to commit again, since its transaction died with the process."""
    if run.status not in (ImportRun.Status.CHECKING, ImportRun.Status.COMMITTING):
        return False
    with _progress_lock:
        if run.pk in _progress:
            return True
    try:
        age = time.time() - _progress_path(run.pk).stat().st_mtime
    except OSError:
        age = float("inf")
    if age < STALE_AFTER:
        return True
    if run.status == ImportRun.Status.COMMITTING:  # the check still holds: commit again
        after = ImportRun.Status.CHECKED
        message = _(
            "登録が中断されました(サーバーの再起動など)。何も登録していません。"
            "もう一度「登録する」を押してください。"
        )
    else:
        after = ImportRun.Status.REFUSED
        message = _(
            "処理が中断されました(サーバーの再起動など)。何も登録していません。"
            "もう一度取り込んでください。"
        )
    interrupted = ImportRun.objects.filter(pk=run.pk, status=run.status).update(
        status=after, message=message
    )
    if interrupted:
        record(
            "intake.import.interrupted",
            obj=run,
            contract=run.contract,
            detail={"run": run.pk, "was": run.status},
        )
    run.refresh_from_db()
    return run.status in (ImportRun.Status.CHECKING, ImportRun.Status.COMMITTING)


def report_of(run: ImportRun) -> dict[str, Any]:
    """The decrypted preview report of a run (issues quote personal data: log the view)."""
    if not run.report:
        return {"issues": [], "column_problems": [], "header": [], "issues_truncated": False}
    return sealing.unseal_json(run.pk, "report", run.report)


def save_preset(organisation, name: str, mapping: dict[str, str], *, user=None) -> MappingPreset:
    preset, _created = MappingPreset.objects.update_or_create(
        organisation=organisation,
        name=name.strip()[:100],
        defaults={"mapping": mapping, "created_by": user},
    )
    record("intake.preset.saved", obj=preset, detail={"name": preset.name})
    return preset


def set_run_mapping(run: ImportRun, mapping: dict[str, str]) -> ImportRun:
    if run.status not in (ImportRun.Status.CHECKED, ImportRun.Status.REFUSED):
        raise ValidationError(_("この取込の列の対応は変更できません。"))
    run.mapping = mapping
    run.status = ImportRun.Status.UPLOADED
    run.save(update_fields=["mapping", "status"])
    record("intake.import.mapping_set", obj=run, contract=run.contract, detail={"run": run.pk})
    return run


# ---------------------------------------------------------------------------------------
# Correcting a case's address by hand
# ---------------------------------------------------------------------------------------

EDITABLE_CASE_STATUSES = (Case.Status.IMPORTED, Case.Status.IN_BATCH)


def correct_address(case: Case, *, address: str, building_line: str, postal_code: str = "") -> Case:
    """Re-normalise a corrected address; the same checks as at intake apply."""
    from .columns import map_columns as _map
    from .validation import RowChecker as _Checker

    if case.status not in EDITABLE_CASE_STATUSES or _in_sealed_batch(case):
        raise ValidationError(_("引渡しの準備が済んだ案件の住所は変更できません。"))
    colmap = _map(["氏名", "郵便番号", "住所", "方書"])
    checker = _Checker(colmap, contract_id=case.contract_id, home_city=case.contract.ward.home_city)
    result = checker.check(0, [case.name, postal_code, address, building_line])
    errors = [i.message for i in result.issues if i.level == ERROR]
    if errors:
        raise ValidationError(errors)
    clash = (
        Case.objects.filter(contract_id=case.contract_id, identity_key=result.identity_key)
        .exclude(pk=case.pk)
        .first()
    )
    if clash is not None:
        raise ValidationError(
            _("同じ人・同じ住所の案件がすでにあります(%(ref)s)。") % {"ref": clash.ref}
        )
    before_level = case.geocode_level
    v = result.values
    for name in ("address", "building_line", "postal_code", "town", "rest", "lat", "lng"):
        setattr(case, name, v[name])
    case.pref, case.city = v["pref"][:8], v["city"][:32]
    case.geocode_level = v["geocode_level"]
    case.identity_key = result.identity_key
    case.save()
    record(
        "case.address_corrected",
        obj=case,
        contract=case.contract,
        detail={
            "ref": case.ref,
            "level_before": before_level,
            "level_after": case.geocode_level,
            "warnings": [i.message for i in result.issues if i.level == WARNING][:5],
        },
    )
    return case


def _in_sealed_batch(case: Case) -> bool:
    return case.batch_items.exclude(batch__status=Batch.Status.DRAFT).exists()


# ---------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------

PRIORITIES: dict[str, str] = {
    "amount_desc": "滞納額の多い順",
    "tax_year_asc": "課税年度の古い順",
    "imported_asc": "取込の古い順",
    "postal_asc": "郵便番号順(地域ごと)",
}


def _priority_key(priority: str) -> Callable[[Case], Any]:
    import json

    def notes(case: Case) -> dict[str, Any]:
        try:
            return json.loads(case.ward_notes) if case.ward_notes else {}
        except ValueError:
            return {}

    if priority == "amount_desc":
        return lambda c: (-(notes(c).get("amount_owed") or 0), c.created_at, c.pk)
    if priority == "tax_year_asc":
        return lambda c: (notes(c).get("tax_year") or 9999, c.created_at, c.pk)
    if priority == "postal_asc":
        return lambda c: (c.postal_code or "9999999", c.pk)
    return lambda c: (c.created_at, c.pk)


def eligible_cases(contract: Contract):
    """Cases of the contract not yet picked for any batch."""
    return Case.objects.filter(contract=contract, status=Case.Status.IMPORTED).exclude(
        batch_items__isnull=False
    )


def order_by_priority(cases: Iterable[Case], priority: str) -> list[Case]:
    return sorted(cases, key=_priority_key(priority))


@transaction.atomic
def create_batch(
    contract: Contract, *, title: str = "", priority: str = "amount_desc", user=None
) -> Batch:
    if priority not in PRIORITIES:
        raise ValidationError(_("優先順位の基準が正しくありません。"))
    last = Batch.objects.select_for_update().filter(contract=contract).order_by("-number").first()
    batch = Batch.objects.create(
        contract=contract,
        number=(last.number + 1) if last else 1,
        title=title.strip()[:200],
        priority=priority,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    record(
        "batch.created",
        obj=batch,
        contract=contract,
        detail={"number": batch.number, "priority": priority},
    )
    return batch


def _require_draft(batch: Batch) -> None:
    if batch.status != Batch.Status.DRAFT:
        raise ValidationError(_("封緘済みのバッチは変更できません。"))


@transaction.atomic
def add_cases(batch: Batch, cases: Iterable[Case], *, limit: int | None = None) -> int:
    """Add cases (in the batch's priority order) up to the contract's maximum."""
    batch = Batch.objects.select_for_update().select_related("contract").get(pk=batch.pk)
    _require_draft(batch)
    contract = batch.contract
    current = batch.items.count()
    room = contract.max_cases - current
    wanted = [c for c in cases if c.contract_id == contract.pk]
    eligible_ids = set(
        eligible_cases(contract).filter(pk__in=[c.pk for c in wanted]).values_list("pk", flat=True)
    )
    chosen = order_by_priority([c for c in wanted if c.pk in eligible_ids], batch.priority)
    if limit is not None:
        chosen = chosen[: max(limit, 0)]
    if len(chosen) > room:
        if room <= 0:
            raise ValidationError(
                _("このバッチはすでに上限(%(max)d 件)に達しています。")
                % {"max": contract.max_cases}
            )
        chosen = chosen[:room]
    last = batch.items.order_by("-position").first()
    start = (last.position if last else 0) + 1
    BatchItem.objects.bulk_create(
        [BatchItem(batch=batch, case=c, position=start + i) for i, c in enumerate(chosen)]
    )
    Case.objects.filter(pk__in=[c.pk for c in chosen]).update(status=Case.Status.IN_BATCH)
    if chosen:
        record(
            "batch.cases_added",
            obj=batch,
            contract=contract,
            detail={"added": len(chosen), "total": current + len(chosen)},
        )
    return len(chosen)


@transaction.atomic
def remove_cases(batch: Batch, case_ids: Iterable[int]) -> int:
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    _require_draft(batch)
    ids = list(batch.items.filter(case_id__in=list(case_ids)).values_list("case_id", flat=True))
    batch.items.filter(case_id__in=ids).delete()
    Case.objects.filter(pk__in=ids).update(status=Case.Status.IMPORTED)
    # Keep positions dense: 1..n in the order they were.
    for position, item in enumerate(batch.items.order_by("position"), start=1):
        if item.position != position:
            BatchItem.objects.filter(pk=item.pk).update(position=position)
    if ids:
        record(
            "batch.cases_removed", obj=batch, contract=batch.contract, detail={"removed": len(ids)}
        )
    return len(ids)


@transaction.atomic
def seal_batch(batch: Batch, *, user=None) -> Batch:
    """draft → sealed: frozen and ready for the handover package."""
    batch = Batch.objects.select_for_update().select_related("contract").get(pk=batch.pk)
    _require_draft(batch)
    count = batch.items.count()
    if count == 0:
        raise ValidationError(_("案件のないバッチは封緘できません。"))
    if count > batch.contract.max_cases:
        raise ValidationError(
            _("件数が契約の上限(%(max)d 件)を超えています。") % {"max": batch.contract.max_cases}
        )
    batch.status = Batch.Status.SEALED
    batch.sealed_at = timezone.now()
    batch.sealed_by = user if getattr(user, "is_authenticated", False) else None
    batch.save(update_fields=["status", "sealed_at", "sealed_by"])
    record(
        "batch.sealed",
        obj=batch,
        contract=batch.contract,
        detail={"number": batch.number, "cases": count},
    )
    return batch


@transaction.atomic
def delete_batch(batch: Batch) -> None:
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    _require_draft(batch)
    ids = list(batch.items.values_list("case_id", flat=True))
    Case.objects.filter(pk__in=ids).update(status=Case.Status.IMPORTED)
    record("batch.deleted", obj=batch, contract=batch.contract, detail={"number": batch.number})
    batch.delete()

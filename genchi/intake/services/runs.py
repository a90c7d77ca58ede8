"""Import runs in the UI: upload → check (preview) → commit, each step logged.

A run keeps the uploaded file (compressed, then encrypted under the ward's key of the
contract, bound to the run) between the preview and the commit, and the preview report
(also encrypted: it quotes row values).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.parties.models import Contract
from genchi.vault import contract_scope, decrypt, encrypt

from ..models import HOLDER, ImportRun, MappingPreset
from .imports import (
    MAX_KEPT_ISSUES,
    ImportOptions,
    ImportReport,
    Progress,
    check_file,
    summary_message,
)

logger = logging.getLogger(__name__)


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


@transaction.atomic
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
    """Register an upload; the file is kept only encrypted under the ward's key."""
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
        run.payload = _encrypt_run_data(run, "file", data)
        run.save(update_fields=["payload"])
    record(
        "intake.import.uploaded",
        obj=run,
        contract=contract,
        detail={"run": run.pk, "filename": run.filename, "sha256": run.file_sha256},
    )
    return run


def _encrypt_run_data(run: ImportRun, purpose: str, data: bytes) -> bytes:
    """The run's file or report, compressed then encrypted under the ward's key of its
    contract, bound to the run and the purpose."""
    scope = contract_scope(run.contract_id, HOLDER)
    return encrypt(scope, f"intake:{purpose}:{run.pk}", zlib.compress(data, 3))


def _decrypt_run_data(run: ImportRun, purpose: str, blob: bytes) -> bytes:
    scope = contract_scope(run.contract_id, HOLDER)
    return zlib.decompress(decrypt(scope, f"intake:{purpose}:{run.pk}", blob))


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
    stored = json.dumps(report.to_store(), ensure_ascii=False).encode()
    run.report = _encrypt_run_data(run, "report", stored)
    return report


def _log_outcome(action: str, run: ImportRun, report: ImportReport) -> None:
    record(action, obj=run, contract=run.contract, detail=_audit_detail(run, report))


def check_run(run: ImportRun, *, progress: Progress | None = None) -> ImportReport:
    """The preview: prove every row and keep the (encrypted) report; stores no case."""
    with _heartbeat(run.pk):
        data = _decrypt_run_data(run, "file", run.payload)
        before = run.status
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.CHECKING)
        try:
            report = _prove(run, data, store=False, progress=progress)
            run.status = ImportRun.Status.REFUSED if report.message else ImportRun.Status.CHECKED
            run.checked_at = timezone.now()
            with transaction.atomic():
                run.save()
                _log_outcome(
                    "intake.import.refused" if report.message else "intake.import.checked",
                    run,
                    report,
                )
        except BaseException:
            _set_status_back(run, ImportRun.Status.CHECKING, before)
            raise
        return report


def _set_status_back(run: ImportRun, busy: str, before: str) -> None:
    """A check or commit that failed (its outcome not stored with its entry) leaves the run
    as it was before it: the busy mark is the only trace, and it is taken back."""
    ImportRun.objects.filter(pk=run.pk, status=busy).update(status=before)
    run.status = before


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
    try:
        if run.error_rows and not exclude_error_rows:
            raise ValidationError(
                _("エラーのある行があります。ファイルを直すか、エラー行を除外してください。")
            )
        # The rows, the run's outcome and its entry are stored together or not at all.
        with _heartbeat(run.pk), transaction.atomic():
            excluded = list(run.error_row_numbers) if exclude_error_rows else []
            data = _decrypt_run_data(run, "file", run.payload)
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
                "intake.import.committed" if report.stored else "intake.import.refused",
                run,
                report,
            )
            return report
    except BaseException:
        # Nothing was stored, so the check still holds: the run can be committed again.
        _set_status_back(run, ImportRun.Status.COMMITTING, ImportRun.Status.CHECKED)
        raise


@transaction.atomic
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
            try:
                with transaction.atomic():
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
            except Exception:  # the run stays as the failed step left it; see is_busy
                logger.exception("could not record the failure of run %s", run_id)
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
    with transaction.atomic():
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
    return json.loads(_decrypt_run_data(run, "report", run.report))


@transaction.atomic
def save_preset(organisation, name: str, mapping: dict[str, str], *, user=None) -> MappingPreset:
    preset, _created = MappingPreset.objects.update_or_create(
        organisation=organisation,
        name=name.strip()[:100],
        defaults={"mapping": mapping, "created_by": user},
    )
    record("intake.preset.saved", obj=preset, detail={"name": preset.name})
    return preset


@transaction.atomic
def set_run_mapping(run: ImportRun, mapping: dict[str, str]) -> ImportRun:
    if run.status not in (ImportRun.Status.CHECKED, ImportRun.Status.REFUSED):
        raise ValidationError(_("この取込の列の対応は変更できません。"))
    run.mapping = mapping
    run.status = ImportRun.Status.UPLOADED
    run.save(update_fields=["mapping", "status"])
    record("intake.import.mapping_set", obj=run, contract=run.contract, detail={"run": run.pk})
    return run

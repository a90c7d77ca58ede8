"""Import runs in the UI: upload → check (preview) → commit, each step logged.

A run keeps the uploaded file (compressed, then encrypted under the ward's key of the
contract, bound to the run) between the preview and the commit, and the preview report
(also encrypted: it quotes row values). From the web, the check and the commit run as
jobs on the run's row (`start_check`, `start_commit`; `genchi.intake.tasks`); the
command line imports in one go (`import_file`).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.core.memory import return_large_buffers
from genchi.jobs import runner
from genchi.jobs.models import JobState
from genchi.parties.models import Contract
from genchi.vault import contract_scope, decrypt, encrypt

from ..messages import dumps, render
from ..models import HOLDER, ImportRun, MappingPreset
from ..reader import CompressedSource, Source
from .imports import (
    MAX_KEPT_ISSUES,
    ImportOptions,
    ImportReport,
    Progress,
    check_file,
    summary_parts,
)


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
    run.message_parts = summary_parts(report)
    run.message = render(run.message_parts)


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
        by=user if getattr(user, "is_authenticated", False) else None,
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


def _take_kept_file(run: ImportRun) -> CompressedSource:
    """The run's kept file, its ciphertext let go first (deferred: read again from the
    database if anything asks for it). Only the compressed file stays in memory: each
    pass of the check inflates it a slice at a time, so the file itself is never held
    whole, nor the ciphertext beside it (issue 13)."""
    return_large_buffers()
    blob = run.payload
    del run.payload
    scope = contract_scope(run.contract_id, HOLDER)
    compressed = decrypt(scope, f"intake:file:{run.pk}", blob)
    del blob
    return CompressedSource(compressed, run.file_size)


def _options_of(run: ImportRun, exclude_rows: Iterable[int] = ()) -> ImportOptions:
    return ImportOptions(
        encoding=run.encoding_override,
        sheet=run.sheet_name,
        mapping=run.mapping or None,
        exclude_rows=frozenset(exclude_rows),
    )


def _prove(
    run: ImportRun,
    data: bytes | Source,
    *,
    store: bool,
    excluded: Iterable[int] = (),
    job: runner.JobRun | None = None,
    then=None,
) -> ImportReport:
    """Check (and with `store`, store) the run's file; the run takes the counts and the
    encrypted report (the caller saves it, or `then(report)` inside the storing step)."""

    def take(report: ImportReport) -> None:
        _apply_counts(run, report)
        stored = json.dumps(report.to_store(), ensure_ascii=False).encode()
        run.report = _encrypt_run_data(run, "report", stored)

    def stored(report: ImportReport) -> None:
        take(report)
        then(report)

    report = check_file(
        run.contract,
        data,
        filename=run.filename,
        options=_options_of(run, excluded),
        store=store,
        run=run,
        progress=_step(job, "check"),
        storing=_step(job, "store"),
        then=stored if then else None,
    )
    if not report.stored:
        take(report)
    return report


def _step(job: runner.JobRun | None, step: str) -> Progress | None:
    if job is None:
        return None
    return lambda done, total: job.progress(done, total, step)


def _log_outcome(action: str, run: ImportRun, report: ImportReport) -> None:
    record(action, obj=run, contract=run.contract, detail=_audit_detail(run, report))


def check_run(run: ImportRun, *, job: runner.JobRun | None = None) -> ImportReport:
    """The preview: prove every row and keep the (encrypted) report; stores no case."""
    data = _take_kept_file(run)  # not written back: the run is saved without it
    report = _prove(run, data, store=False, job=job)
    del data
    run.status = ImportRun.Status.REFUSED if report.message else ImportRun.Status.CHECKED
    run.checked_at = timezone.now()
    with transaction.atomic():
        run.save(update_fields=_fields_but_payload())
        _log_outcome(
            "intake.import.refused" if report.message else "intake.import.checked", run, report
        )
        if job:
            job.finish(
                state=JobState.REFUSED if report.message else JobState.SUCCEEDED,
                outcome="refused" if report.message else "ok",
                message=dumps(run.message_parts),
            )
    return report


def _fields_but_payload() -> list[str]:
    """What `save()` writes of a run, minus its kept file (the job's columns aside)."""
    return [
        f.name
        for f in ImportRun._meta.concrete_fields
        if not f.primary_key and not f.name.startswith("job_") and f.name != "payload"
    ]


def _set_status_back(run: ImportRun, busy: str, before: str) -> None:
    """A commit that failed (its outcome not stored with its entry) leaves the run as it
    was before it: the busy mark is the only trace, and it is taken back."""
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
    run: ImportRun, *, exclude_error_rows: bool = False, job: runner.JobRun | None = None
) -> ImportReport:
    """Store every good row of a checked run, or nothing: the rows, the run's outcome, its
    audit entry and the job's end are one transaction."""
    if run.status == ImportRun.Status.CHECKED:
        if not claim_commit(run):
            raise ValidationError(_("この取込はすでに登録処理中です。"))
    elif run.status != ImportRun.Status.COMMITTING:
        raise ValidationError(_("この取込は登録できる状態ではありません。"))
    if run.error_rows and not exclude_error_rows:
        raise ValidationError(
            _("エラーのある行があります。ファイルを直すか、エラー行を除外してください。")
        )
    excluded = list(run.error_row_numbers) if exclude_error_rows else []
    run.excluded_rows = excluded

    def committed(report: ImportReport) -> None:  # inside the transaction storing the rows
        run.status = ImportRun.Status.COMMITTED
        run.imported_rows = report.imported
        run.committed_at = timezone.now()
        run.payload = b""  # the file is no longer needed once its rows are stored
        _log_outcome("intake.import.committed", run, report)
        run.save()  # the run's row is locked last: its job's heartbeat goes on until here
        if job:
            job.finish(message=dumps(run.message_parts))

    try:
        # Only its emptying is written back (`committed`); a refusal leaves it as it is.
        data = _take_kept_file(run)
        report = _prove(run, data, store=True, excluded=excluded, job=job, then=committed)
        del data
        if not report.stored:
            run.status = ImportRun.Status.REFUSED
            with transaction.atomic():
                run.save(update_fields=_fields_but_payload())
                _log_outcome("intake.import.refused", run, report)
                if job:
                    job.finish(
                        state=JobState.REFUSED,
                        outcome="refused",
                        message=dumps(run.message_parts),
                    )
    except BaseException:
        # Nothing was stored, so the check still holds: the run can be committed again.
        _set_status_back(run, ImportRun.Status.COMMITTING, ImportRun.Status.CHECKED)
        raise
    return report


def start_check(run: ImportRun, *, by=None) -> ImportRun:
    """Check the run's kept file in a job (the page polls the run's row)."""
    from ..tasks import check_import

    if run.status not in (ImportRun.Status.UPLOADED, ImportRun.Status.CHECKED,
                          ImportRun.Status.REFUSED) or not run.payload:  # fmt: skip
        raise ValidationError(_("この取込は検査できる状態ではありません。"))
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.CHECKING)
        run.status = ImportRun.Status.CHECKING
        runner.enqueue(run, check_import, by=by, step="check")
    return run


def start_commit(run: ImportRun, *, exclude_error_rows: bool = False, by=None) -> ImportRun:
    """Commit a checked run in a job: claimed here, so a second click cannot commit twice."""
    from ..tasks import commit_import

    if not run.can_commit:
        raise ValidationError(_("この取込は登録できる状態ではありません。"))
    if run.error_rows and not exclude_error_rows:
        raise ValidationError(
            _(
                "エラーのある行があるため登録しません。ファイルを直すか、エラー行を除外してください。"
            )
        )
    with transaction.atomic():
        if not claim_commit(run):
            raise ValidationError(_("この取込はすでに登録処理中です。"))
        runner.enqueue(run, commit_import, exclude_error_rows, by=by, step="check")
    return run


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
        defaults={"mapping": mapping, "by": user},
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

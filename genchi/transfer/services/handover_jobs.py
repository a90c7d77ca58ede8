"""Package export and import asked on a page and done by a worker (`genchi.jobs`).

The page enqueues (`start_export`, `start_import`) and then polls the `HandoverJob` row;
the worker runs `export_job` / `import_job`, which call the same services as the command
line (`send_item`, `receive_package`) and end the job inside the transaction that stores
the package, so the row says done exactly when the package and its slip exist. A refusal
ends the job with its code and message. The uploaded package waits, as the ciphertext it
is, in the job's private folder and is removed when the job ends, whatever the outcome;
a passphrase waits encrypted under the organisation's own key, erased at the end.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from genchi import vault
from genchi.jobs import files, runner
from genchi.jobs.models import JobState

from .. import handlers
from ..models import HandoverJob, Package, UsbStick
from .common import WEB_MAX_SCRYPT_WORK_FACTOR, Refusal, Refused, refusal_message
from .incoming import ImportResult, receive_package
from .outgoing import ExportResult, download_folder, send_item, usb_folder, usb_folder_shown

PACKAGE_FILE = "package.genchi.age"


def _keep_passphrase(job: HandoverJob, passphrase: str | None) -> None:
    """The passphrase waits for the worker encrypted under the organisation's own key,
    bound to this row; it never goes into the task queue."""
    if passphrase:
        scope = vault.organisation_scope(job.organisation_id)
        job.passphrase_encrypted = vault.encrypt(
            scope, f"handover-job:passphrase:{job.pk}", passphrase.encode()
        )
        job.save()


def _passphrase_of(job: HandoverJob) -> str | None:
    if not job.passphrase_encrypted:
        return None
    scope = vault.organisation_scope(job.organisation_id)
    blob = bytes(job.passphrase_encrypted)
    return vault.decrypt(scope, f"handover-job:passphrase:{job.pk}", blob).decode()


def start_export(
    *,
    kind: str,
    key: int,
    stick: UsbStick,
    passphrase: str | None,
    by,
    delivery: str = Package.Delivery.DOWNLOAD,
) -> HandoverJob:
    """Ask a worker to write item `key` of `kind` for `stick`: kept for the officer to
    download onto it (DOWNLOAD), or into its folder on this machine (FOLDER)."""
    from ..tasks import export_package

    source = handlers.source_for(kind)
    item = source.get(key) if source else None
    with transaction.atomic():
        job = HandoverJob.objects.create(
            direction=HandoverJob.Direction.EXPORT,
            organisation=by.organisation,
            contract=item.contract if item else None,
            kind=kind,
            item_key=key,
            stick=stick,
            delivery=delivery,
        )
        _keep_passphrase(job, passphrase)
        runner.enqueue(job, export_package, by=by, step="write")
    return job


def start_import(
    upload: UploadedFile,
    *,
    passphrase: str | None,
    giver_name: str,
    stick_label: str,
    by,
    handed_at: dt.datetime | None = None,
    kind: str = "cases",
) -> HandoverJob:
    """Keep the uploaded package (ciphertext) for a worker and ask it to import it: a
    `cases` package at the contractor, a `results` package at the ward."""
    from ..tasks import import_package

    with transaction.atomic():
        job = HandoverJob.objects.create(
            direction=HandoverJob.Direction.IMPORT,
            organisation=by.organisation,
            kind=kind,
            filename=Path(upload.name or PACKAGE_FILE).name[:200],
            giver_name=giver_name.strip()[:100],
            stick_label=stick_label.strip()[:64],
            handed_at=handed_at,
        )
        path = files.private_folder(job, create=True) / PACKAGE_FILE
        try:
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            _keep_passphrase(job, passphrase)
            runner.enqueue(job, import_package, by=by, step="verify")
        except BaseException:
            files.remove_private_folder(job)
            raise
    return job


def restart(job: HandoverJob, *, by) -> HandoverJob:
    """Start an interrupted handover again, with what it kept."""
    from ..tasks import export_package, import_package

    if job.job_state != JobState.INTERRUPTED:
        raise Refused("not_interrupted", _("この処理はやり直せる状態ではありません。"))
    if job.direction == HandoverJob.Direction.IMPORT:
        if not (files.private_folder(job) / PACKAGE_FILE).is_file():
            raise Refused(
                "upload_gone",
                _("受け付けたファイルはもう残っていません。もう一度取り込んでください。"),
            )
        task, step = import_package, "verify"
    else:
        task, step = export_package, "write"
    with transaction.atomic():
        runner.enqueue(job, task, by=by, step=step)
    return job


# --- in the worker ---------------------------------------------------------------------


def _refused(job: runner.JobRun, exc: BaseException) -> None:
    with transaction.atomic():
        job.finish(
            state=JobState.REFUSED,
            outcome=getattr(exc, "code", "refused"),
            message=refusal_message(exc),
            passphrase_encrypted=b"",
        )


def _export_message(row: HandoverJob, n: int) -> str:
    """What the finished export says happened: kept for download, or written into the
    stick's folder on this machine (named inside the data folder, never a full path)."""
    if row.delivery == Package.Delivery.FOLDER:
        return ngettext(
            "%(n)d 件を USBメモリ %(stick)s のフォルダ(データフォルダの %(folder)s)に"
            "書き込みました。受け渡し票を印刷してください。",
            "%(n)d 件を USBメモリ %(stick)s のフォルダ(データフォルダの %(folder)s)に"
            "書き込みました。受け渡し票を印刷してください。",
            n,
        ) % {"n": n, "stick": row.stick.label, "folder": usb_folder_shown(row.stick)}
    return ngettext(
        "%(n)d 件のパッケージを用意しました。まだUSBメモリには入っていません。"
        "ダウンロードして USBメモリ %(stick)s に保存してください。",
        "%(n)d 件のパッケージを用意しました。まだUSBメモリには入っていません。"
        "ダウンロードして USBメモリ %(stick)s に保存してください。",
        n,
    ) % {"n": n, "stick": row.stick.label}


def export_job(row: HandoverJob, job: runner.JobRun) -> None:
    if row.delivery == Package.Delivery.FOLDER:
        folder = usb_folder(row.stick)
    else:
        folder = download_folder(row.organisation)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def done(result: ExportResult) -> None:
        job.finish(
            message=_export_message(row, result.package.record_count),
            package=result.package,
            slip=result.slip,
            passphrase_encrypted=b"",
        )

    try:
        send_item(
            row.kind,
            row.item_key,
            folder,
            by=row.job_requested_by,
            stick=row.stick,
            passphrase=_passphrase_of(row),
            within=done,
            delivery=row.delivery,
        )
    except Refusal as exc:
        _refused(job, exc)


def import_job(row: HandoverJob, job: runner.JobRun) -> None:
    path = files.private_folder(row) / PACKAGE_FILE

    def done(result: ImportResult) -> None:
        job.finish(
            message=ngettext(
                "%(n)d 件を取り込みました。受け渡し票の内容を確認してください。",
                "%(n)d 件を取り込みました。受け渡し票の内容を確認してください。",
                result.created,
            )
            % {"n": result.created},
            contract=result.package.contract,
            package=result.package,
            slip=result.slip,
            passphrase_encrypted=b"",
        )

    try:
        receive_package(
            path,
            kind=row.kind,
            by=row.job_requested_by,
            passphrase=_passphrase_of(row),
            giver_name=row.giver_name,
            stick_label=row.stick_label,
            handed_at=row.handed_at,
            within=done,
            max_scrypt_work_factor=WEB_MAX_SCRYPT_WORK_FACTOR,
        )
    except Refusal as exc:
        _refused(job, exc)
    except runner.JobLost:
        raise  # interrupted meanwhile: the upload stays for the restart
    except BaseException:
        files.remove_private_folder(row)
        raise
    files.remove_private_folder(row)

"""Sending a package: an item of a registered source (a sealed batch on the ward's side)
or the contractor's results, written encrypted and signed, recorded with its slip.

Whatever fails leaves no file and no row; a refusal is logged as `package.export_refused`.
A package is written into a staging folder beside its destination and moved there only
once its row is committed, so a process killed at any moment leaves no package file
without its row (`settle_staged` finishes or removes what such a process left).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import SIDE_OFFICE, has_role
from genchi.audit.chain import record
from genchi.package_format import WrittenPackage, write_package
from genchi.package_format.records import RESULT_FIELDS
from genchi.parties.models import Contract, Organisation
from genchi.parties.selectors import does_office_work_on

from .. import contract_keys, handlers, ledger, orgkeys
from ..models import HandoverSlip, Package, UsbStick
from .common import (
    Refusal,
    Refused,
    file_sha256,
    log_refusal,
    name_of,
    refusal_message,
    user_or_none,
)
from .slips import issue_slip

RESULT_COLUMNS: tuple[tuple[str, str], ...] = RESULT_FIELDS

STAGING = ".genchi-staging"
# A staged file younger than this may belong to an export still under way elsewhere.
STAGING_GRACE_SECONDS = 60 * 60


@dataclass(frozen=True)
class ExportResult:
    package: Package
    slip: HandoverSlip
    path: Path


def usb_folder(stick: UsbStick) -> Path:
    """The folder standing for a mounted stick when Genchi runs on the officer's PC
    (settings.GENCHI_STICK_MOUNTED_HERE): a page can write there, not to a USB port."""
    return Path(settings.DATA_DIR) / "usb" / stick.owner.code / stick.label


def usb_folder_shown(stick: UsbStick) -> str:
    """How pages and the log name the stick's folder: inside the data folder, never the
    machine's full path."""
    return f"usb/{stick.owner.code}/{stick.label}/"


def download_folder(owner: Organisation) -> Path:
    """Where a package to be downloaded waits, encrypted, until its handover is confirmed."""
    return Path(settings.DATA_DIR) / "outbox" / owner.code


def server_copy(package: Package) -> Path:
    return download_folder(package.holder) / package.filename


def settle_staged(out_dir: Path, *, min_age: float = STAGING_GRACE_SECONDS) -> int:
    """Finish what a process killed between recording a package and moving its file left in
    `out_dir`'s staging folder (the row exists: move the file out), remove the rest (no
    row: the package was never recorded); only files older than `min_age` seconds, which
    no export still under way can own. How many files it settled."""
    staging = out_dir / STAGING
    if not staging.is_dir():
        return 0
    settled = 0
    now = time.time()
    for path in staging.iterdir():
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime < min_age:
                continue
        recorded = Package.objects.filter(
            direction=Package.Direction.OUTGOING, filename=path.name
        ).exists()
        if recorded and path.is_file() and not path.name.startswith("."):
            os.replace(path, out_dir / path.name)
        else:
            path.unlink(missing_ok=True)
        settled += 1
    with contextlib.suppress(OSError):
        staging.rmdir()
    return settled


def settle_staged_everywhere(*, min_age: float = STAGING_GRACE_SECONDS) -> int:
    """`settle_staged` in every stick folder of this installation."""
    data = Path(settings.DATA_DIR)
    folders = [*(data / "usb").glob("*/*"), *(data / "outbox").glob("*")]
    return sum(settle_staged(folder, min_age=min_age) for folder in folders if folder.is_dir())


def _discard(written: WrittenPackage) -> None:
    written.path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        written.path.parent.rmdir()


def _publish(written: WrittenPackage, out_dir: Path) -> Path:
    """Move a recorded package from the staging folder to its destination."""
    final = out_dir / written.path.name
    os.replace(written.path, final)
    with contextlib.suppress(OSError):
        written.path.parent.rmdir()
    return final


def parties_of(contract: Contract, side: str) -> tuple[Organisation, Organisation]:
    """(sender, recipient) of a package sent by `side` ("ward" or "contractor")."""
    if side == "ward":
        return contract.ward, contract.contractor
    return contract.contractor, contract.ward


def _require_may_send(by, contract: Contract, side: str, *, not_allowed: str) -> None:
    """Ward staff send for their ward; on the contractor's side only the manager and
    handlers designated on the contract do (C-O1, S13)."""
    if by is None:  # the command line acts as the installation's operator
        return
    sender, _recipient = parties_of(contract, side)
    if by.organisation_id != sender.pk or not has_role(by, SIDE_OFFICE[side]):
        raise Refused("not_allowed", not_allowed)
    if side == "contractor" and not does_office_work_on(by, contract):
        raise Refused(
            "not_designated",
            _("この契約の取扱責任者・取扱者に指定されていないため、結果を書き出せません。"),
        )


def export_batch(
    batch: Any,
    out_dir: str | os.PathLike[str],
    *,
    by=None,
    stick: UsbStick | None = None,
    passphrase: str | None = None,
    delivery: str = Package.Delivery.FOLDER,
) -> ExportResult:
    """Write a sealed batch (anything with the `pk` of one) as the `cases` package."""
    return send_item(
        "cases", batch.pk, out_dir, by=by, stick=stick, passphrase=passphrase, delivery=delivery
    )


Within = Callable[["ExportResult"], None]


def send_item(
    kind: str,
    key: int,
    out_dir: str | os.PathLike[str],
    *,
    by=None,
    stick: UsbStick | None = None,
    passphrase: str | None = None,
    within: Within | None = None,
    delivery: str = Package.Delivery.FOLDER,
) -> ExportResult:
    """Write an item of the source registered for `kind` as an encrypted, signed package
    and open its handover slip; the source then moves the item on (e.g. handed over).
    `within(result)` runs inside the transaction that records it (a job ends there).
    `delivery`: FOLDER writes into `out_dir` as the stick (or a folder the person chose);
    DOWNLOAD keeps it in `out_dir` (the download folder) to be downloaded onto the stick."""
    source = handlers.source_for(kind)
    item = source.get(key) if source else None
    contract = item.contract if item else None
    try:
        if source is None:
            raise Refused("no_handler", _("この種類のパッケージは書き出せません。"))
        if item is None:
            raise Refused("no_item", _("書き出す対象が見つかりません。"))
        return _send(
            source,
            item,
            Path(out_dir),
            by=by,
            stick=stick,
            passphrase=passphrase,
            within=within,
            delivery=delivery,
        )
    except Refusal as exc:
        log_refusal("package.export_refused", exc, contract=contract, kind=kind, item=key)
        raise


def _send(
    source: handlers.OutgoingSource,
    item: handlers.Sendable,
    out_dir: Path,
    *,
    by,
    stick: UsbStick | None,
    passphrase: str | None,
    within: Within | None,
    delivery: str,
) -> ExportResult:
    contract = item.contract
    side = item.side or source.side
    sender, recipient = parties_of(contract, side)
    _require_may_send(by, contract, side, not_allowed=_("このバッチを書き出す権限がありません。"))
    source.check(item)
    if stick is not None:
        ledger.check_writable(stick, sender)
    if passphrase is not None and len(passphrase) < 12:
        raise Refused("weak_passphrase", _("パスワードは12文字以上にしてください。"))
    secret = orgkeys.secret_keys(sender)
    recipients: list[str] = []
    if passphrase is None:
        recipients = [contract_keys.recipient_for(contract, sender, recipient)]
    _require_folder(out_dir)
    written = _write(
        kind=source.kind,
        contract=contract,
        sender=sender,
        recipient=recipient,
        records=source.records(item),
        signing_key=secret.signing,
        out_dir=out_dir,
        recipients=recipients,
        passphrase=passphrase,
        batch=item.code,
    )
    try:
        with transaction.atomic():
            if stick is not None:
                stick = UsbStick.objects.select_for_update(of=("self",), no_key=True).get(
                    pk=stick.pk
                )
                ledger.check_writable(stick, sender)
            package = _record_outgoing(
                written,
                kind=source.kind,
                contract=contract,
                sender=sender,
                recipient=recipient,
                by=by,
                signing_fingerprint=secret.signing.fingerprint,
                batch_code=item.code,
                stick=stick,
                passphrase_protected=passphrase is not None,
                delivery=delivery,
                folder=_folder_label(out_dir, stick) if delivery == Package.Delivery.FOLDER else "",
            )
            source.mark_sent(item, package)
            loan = ledger.record_package_written(stick, package, by=by) if stick else None
            slip = issue_slip(
                package,
                giver_name=name_of(by),
                receiver_name=loan.borrower_name if loan else "",
                by=by,
            )
            result = ExportResult(package, slip, out_dir / written.path.name)
            if within:
                within(result)
    except BaseException:
        _discard(written)
        raise
    _publish(written, out_dir)
    return result


def export_results_package(
    contract: Contract,
    records: Iterable[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    by=None,
    answers: str | None = None,
    stick_label: str = "",
    columns: tuple[tuple[str, str], ...] = RESULT_COLUMNS,
    photos: Iterable[tuple[str | os.PathLike[str], str]] = (),
    delivery: str = Package.Delivery.FOLDER,
) -> ExportResult:
    """Write a signed result package for the ward and open the return slip (c2w).
    `photos` are (file, name inside photos/) pairs, e.g. (path, "C0001/1.jpg").
    DOWNLOAD: `out_dir` is the contractor's download folder (`download_folder`), the
    package waits there to be downloaded from its slip's page."""
    sender, recipient = parties_of(contract, "contractor")
    try:
        _require_may_send(
            by,
            contract,
            "contractor",
            not_allowed=_("結果パッケージを書き出す権限がありません。"),
        )
        secret = orgkeys.secret_keys(sender)
        to = contract_keys.recipient_for(contract, sender, recipient)
        written = _write(
            kind="results",
            contract=contract,
            sender=sender,
            recipient=recipient,
            records=records,
            signing_key=secret.signing,
            out_dir=Path(out_dir),
            recipients=[to],
            csv_columns=columns,
            answers=answers,
            photos=photos,
        )
    except Refusal as exc:
        log_refusal("package.export_refused", exc, contract=contract, kind="results")
        raise
    try:
        with transaction.atomic():
            package = _record_outgoing(
                written,
                kind=Package.Kind.RESULTS,
                contract=contract,
                sender=sender,
                recipient=recipient,
                by=by,
                signing_fingerprint=secret.signing.fingerprint,
                answers=answers,
                delivery=delivery,
                folder=Path(out_dir).name if delivery == Package.Delivery.FOLDER else "",
            )
            slip = issue_slip(package, giver_name=name_of(by), receiver_name="", by=by)
            if stick_label:
                slip.stick_label = stick_label[:64]
                slip.save(update_fields=["stick_label"])
    except BaseException:
        _discard(written)
        raise
    return ExportResult(package, slip, _publish(written, Path(out_dir)))


def _require_folder(out_dir: Path) -> None:
    if not out_dir.is_dir():
        raise Refused(
            "no_out_dir",
            _("書き出し先のフォルダがありません: %(folder)s") % {"folder": out_dir.name},
        )


def _write(
    *,
    contract: Contract,
    sender: Organisation,
    recipient: Organisation,
    out_dir: Path,
    **options: Any,
) -> WrittenPackage:
    """Write into `out_dir`'s staging folder (see `_publish`)."""
    try:
        settle_staged(out_dir)
        staging = out_dir / STAGING
        staging.mkdir(exist_ok=True, mode=0o700)
        try:
            return write_package(
                contract=contract.code,
                sender=sender.code,
                recipient=recipient.code,
                out_dir=staging,
                **options,
            )
        except BaseException:
            with contextlib.suppress(OSError):
                staging.rmdir()  # when empty: the writer leaves nothing behind
            raise
    except Refused as exc:  # what the data can cause: a stick too small, a photo changed…
        message = _("パッケージを書き出せませんでした: %(reason)s") % {
            "reason": refusal_message(exc)
        }
        raise Refused("write_failed", message, detail=exc.code) from None
    except OSError as exc:
        raise Refused("write_failed", _write_error(exc), detail=str(exc.errno)) from None


def _record_outgoing(
    written: WrittenPackage,
    *,
    kind: str,
    contract: Contract,
    sender: Organisation,
    recipient: Organisation,
    by,
    signing_fingerprint: str,
    batch_code: str = "",
    stick: UsbStick | None = None,
    passphrase_protected: bool = False,
    answers: str | None = None,
    delivery: str = Package.Delivery.FOLDER,
    folder: str = "",
) -> Package:
    sha256 = file_sha256(written.path)
    package = Package.objects.create(
        package_id=uuid.UUID(written.package_id),
        holder=sender,
        direction=Package.Direction.OUTGOING,
        kind=kind,
        contract=contract,
        batch_code=batch_code,
        sender=sender,
        recipient=recipient,
        record_count=written.record_count,
        photo_count=written.manifest.photo_count,
        digest=written.digest,
        size=written.size,
        filename=written.path.name,
        passphrase_protected=passphrase_protected,
        manifest_created_at=written.manifest.created_at,
        signing_fingerprint=signing_fingerprint,
        stick=stick,
        answers=uuid.UUID(answers) if answers else None,
        by=user_or_none(by),
        delivery=delivery,
        file_sha256=sha256,
    )
    record(
        "package.exported",
        obj=package,
        contract=contract,
        detail={
            "package_id": written.package_id,
            "digest": written.digest,
            "records": written.record_count,
            "kind": kind,
            "batch": batch_code,
            "stick": stick.label if stick else "",
            "file": written.path.name,
            "file_sha256": sha256,
            "passphrase": passphrase_protected,
            # Which happened: kept for download, or written into a folder on this machine.
            "delivery": delivery,
            "folder": folder,
        },
    )
    return package


def _folder_label(out_dir: Path, stick: UsbStick | None) -> str:
    """The folder a package was written into, as the log names it: the stick's folder
    inside the data folder, or the last part of a folder the person chose."""
    if stick is not None and out_dir == usb_folder(stick):
        return usb_folder_shown(stick)
    return out_dir.name


# --- the download of a package kept on the server ---------------------------------------


def downloadable(package: Package) -> bool:
    """The rule: a package kept for download may be downloaded, any number of times (each
    logged), until its handover is confirmed; then the server's copy is deleted."""
    slip = getattr(package, "slip", None)
    return (
        package.direction == Package.Direction.OUTGOING
        and package.delivery == Package.Delivery.DOWNLOAD
        and package.server_copy_removed_at is None
        and (slip is None or slip.state != HandoverSlip.State.CONFIRMED)
    )


def download_package(package: Package, *, by) -> Path:
    """Record one download of `package` by `by` (the log entry, the count, the ledger
    line for its stick) and give the file to send. Refused when the rule above no longer
    allows it or the person may not send for the contract."""
    try:
        _require_may_send(
            by,
            package.contract,
            "ward" if package.sender_id == package.contract.ward_id else "contractor",
            not_allowed=_("このパッケージをダウンロードする権限がありません。"),
        )
        with transaction.atomic():
            locked = Package.objects.select_for_update(of=("self",), no_key=True).get(pk=package.pk)
            path = server_copy(locked)
            if not downloadable(locked) or not path.is_file():
                raise Refused(
                    "not_downloadable",
                    _(
                        "このパッケージはもうダウンロードできません"
                        "(受け渡しが確認済みになり、サーバー上のファイルは削除されました)。"
                    ),
                )
            locked.download_count += 1
            locked.last_downloaded_at = timezone.now()
            locked.last_downloaded_by = user_or_none(by)
            locked.save(
                update_fields=["download_count", "last_downloaded_at", "last_downloaded_by"]
            )
            ledger.record_package_downloaded(locked, by=by)
            record(
                "package.downloaded",
                obj=locked,
                contract=locked.contract,
                detail={
                    "package_id": str(locked.package_id),
                    "file": locked.filename,
                    "file_sha256": locked.file_sha256,
                    "stick": locked.stick.label if locked.stick_id else "",
                    "n": locked.download_count,
                    "by": name_of(by),
                },
            )
    except Refusal as exc:
        log_refusal(
            "package.download_refused", exc, contract=package.contract, package=package.short_id
        )
        raise
    package.download_count = locked.download_count
    return path


def remove_server_copy(package: Package) -> bool:
    """Overwrite and delete the server's copy of a download package (its handover is
    confirmed: the copy on the stick is the one that counts). True if there was one."""
    if package.delivery != Package.Delivery.DOWNLOAD or package.server_copy_removed_at:
        return False
    path = server_copy(package)
    existed = path.is_file() and not path.is_symlink()
    with transaction.atomic():
        package.server_copy_removed_at = timezone.now()
        Package.objects.filter(pk=package.pk).update(
            server_copy_removed_at=package.server_copy_removed_at
        )
        record(
            "package.server_copy_removed",
            obj=package,
            contract=package.contract,
            detail={"package_id": str(package.package_id), "file": package.filename},
        )
    # The file goes last, once its entry is written (as a stick's wipe does): a removal
    # that could not be logged leaves it in place.
    if existed:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            written = 0
            while written < size:
                written += fh.write(secrets.token_bytes(min(1024 * 1024, size - written)))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
    return existed


def _write_error(exc: OSError) -> str:
    """A failed write to the stick (full, removed, read-only) in words, without paths."""
    reason = {
        errno.ENOSPC: _("出力先の空き容量が足りません"),
        errno.EROFS: _("出力先が書き込み禁止です"),
        errno.EACCES: _("出力先に書き込む権限がありません"),
        errno.EIO: _("読み書きのエラーです。USBメモリが抜かれたか、故障しています"),
    }.get(
        exc.errno or 0,
        (_("書き込みエラー %(code)s") % {"code": errno.errorcode.get(exc.errno or 0, "")}).strip(),
    )
    return _(
        "パッケージを書き出せませんでした (%(reason)s)。書きかけのファイルは残していません。"
    ) % {"reason": reason}

"""USBメモリ管理台帳 (W-O4 – W-O6, C-O2, C-O6): sticks, lending, return, inspection, wipe.

`wipe_stick` removes Genchi packages from a mounted stick by overwriting them with random
bytes and deleting them. That is NOT full sanitisation of flash storage: wear levelling
keeps old blocks out of reach of any file-level overwrite. NIST SP 800-88 asks for the
device's own secure erase (Purge) or physical destruction (Destroy); the ledger records
which method was used. Packages are encrypted (W-S1), so leftover blocks are ciphertext.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, models, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from genchi.audit.chain import record
from genchi.package_format import FILE_SUFFIX
from genchi.parties.models import Organisation
from genchi.parties.selectors import contractors_of

from . import ledger_text
from .models import Package, StickEvent, StickLoan, UsbStick

WIPE_CHUNK = 1024 * 1024
MAX_CAPACITY_GB = 1024 * 1024  # 1 PB: far beyond any stick, well inside the column


class LedgerError(Exception):
    """A ledger step refused; `code` is stable, `message` is shown to the user (in the
    language active when it was raised)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{message} [{code}]")


def _user(by):
    return by if getattr(by, "pk", None) else None


def _name(by) -> str:
    return (getattr(by, "full_name", "") or getattr(by, "username", "")) if by else ""


def _log(action: str, stick: UsbStick, **detail) -> None:
    record(action, obj=stick, detail={"stick": stick.label, **detail})


def check_writable(stick: UsbStick, owner: Organisation) -> None:
    """A package may be written to a stick of the sender's own, in service, wiped since
    its last handover (export checks this before writing and again under the lock)."""
    if stick.owner_id != owner.pk:
        raise LedgerError("stick_not_owned", _("このUSBメモリは区の管理するものではありません。"))
    if stick.status == UsbStick.Status.RETIRED:
        raise LedgerError("stick_retired", _("廃棄済みのUSBメモリには書き込めません。"))
    if stick.needs_wipe:
        raise LedgerError(
            "stick_not_wiped",
            _(
                "USBメモリ %(stick)s は前回の受け渡し後に消去されていません。"
                "先に消去・初期化を記録してください。"
            )
            % {"stick": stick.label},
        )


def package_params(package: Package, stick: UsbStick | None = None) -> dict:
    """The values a ledger line keeps about a package: kind, count, short id, digest
    prefix (as on the slip) and the stick's label; no path of any machine."""
    label = stick.label if stick else (package.stick.label if package.stick_id else "")
    return {
        "kind": package.kind,
        "count": package.record_count,
        "package": package.short_id,
        "digest": package.digest[:12],
        "stick": label,
    }


WRITTEN_CODE = {
    Package.Delivery.DOWNLOAD: ledger_text.WRITTEN_DOWNLOAD,
    Package.Delivery.FOLDER: ledger_text.WRITTEN_FOLDER,
}


def record_package_written(stick: UsbStick, package: Package, *, by=None) -> StickLoan | None:
    """Inside the export's transaction: the stick now holds `package` (it must be wiped
    before its next use); an open loan without a package takes this one. The line says
    how it reached the stick: kept for download onto it, or written into its folder."""
    loan = stick.loans.filter(returned_at__isnull=True).first()
    if loan is not None and loan.package_id is None:
        loan.package = package
        loan.save(update_fields=["package"])
    UsbStick.objects.filter(pk=stick.pk).update(needs_wipe=True)
    stick.needs_wipe = True
    StickEvent.objects.create(
        stick=stick,
        kind=StickEvent.Kind.PACKAGE_WRITTEN,
        by=_user(by),
        by_name=_name(by),
        loan=loan,
        package=package,
        text_code=WRITTEN_CODE.get(package.delivery, ledger_text.WRITTEN),
        text_params=package_params(package, stick),
    )
    return loan


def record_package_downloaded(package: Package, *, by=None) -> StickEvent | None:
    """Inside the download's transaction: the ledger line of one download of `package`
    for its stick (the n-th). None when the package names no stick."""
    if package.stick_id is None:
        return None
    return StickEvent.objects.create(
        stick=package.stick,
        kind=StickEvent.Kind.PACKAGE_DOWNLOADED,
        by=_user(by),
        by_name=_name(by),
        package=package,
        text_code=ledger_text.DOWNLOADED,
        text_params={**package_params(package), "n": package.download_count},
    )


def register_stick(
    owner: Organisation,
    *,
    label: str,
    serial: str,
    capacity_gb: int,
    model_name: str = "",
    by=None,
) -> UsbStick:
    if not owner.is_ward:
        raise LedgerError("not_ward", _("USBメモリは区が管理します。"))
    if not 0 < capacity_gb <= MAX_CAPACITY_GB:
        raise LedgerError("bad_capacity", _("容量を正しく入力してください。"))
    try:
        with transaction.atomic():
            stick = UsbStick.objects.create(
                owner=owner,
                label=label,
                serial=serial.strip(),
                capacity_gb=capacity_gb,
                model_name=model_name.strip(),
                by=_user(by),
            )
            StickEvent.objects.create(
                stick=stick,
                kind=StickEvent.Kind.REGISTERED,
                by=_user(by),
                by_name=_name(by),
                text_code=ledger_text.REGISTERED,
                text_params={"serial": stick.serial, "capacity_gb": capacity_gb},
            )
            _log("usb.registered", stick, serial=stick.serial, capacity_gb=capacity_gb)
    except IntegrityError:
        raise LedgerError(
            "label_taken", _("管理番号 %(label)s はすでに登録されています。") % {"label": label}
        ) from None
    return stick


def open_loan(stick: UsbStick) -> StickLoan | None:
    return stick.loans.filter(returned_at__isnull=True).first()


def _written_since_wipe(events: Iterable[StickEvent]) -> list[StickEvent]:
    """The package writes on a stick since it was last wiped, lent or returned, not yet on
    a loan: the stick is waiting to be handed over with them, not to be wiped. `events`
    in ledger order."""
    pending: list[StickEvent] = []
    for event in events:
        if event.kind in (
            StickEvent.Kind.WIPED,
            StickEvent.Kind.LENT,
            StickEvent.Kind.RETURNED,
        ):
            pending = []
        elif event.kind == StickEvent.Kind.PACKAGE_WRITTEN and not event.loan_id:
            pending.append(event)
    return pending


def awaiting_handover(
    stick: UsbStick, events: Iterable[StickEvent] | None = None
) -> list[StickEvent]:
    """Package writes on `stick` that the next loan will carry (see _written_since_wipe).
    `events`: the stick's events in ledger order when the caller already has them."""
    if not stick.needs_wipe:
        return []
    if events is None:
        events = stick.events.select_related("package").order_by("at", "id")
    return _written_since_wipe(events)


class StickState(models.TextChoices):
    """A stick's state as every view of the ledger names it (page, stick page, PDF, XLSX)."""

    RETIRED = "retired", gettext_lazy("廃棄済み")
    LENT = "lent", gettext_lazy("貸出中")
    AWAITING_HANDOVER = "awaiting_handover", gettext_lazy("受け渡し待ち")
    AWAITING_WIPE = "awaiting_wipe", gettext_lazy("消去待ち")
    AVAILABLE = "available", gettext_lazy("保管中")


def stick_state(stick: UsbStick, events: Iterable[StickEvent] | None = None) -> StickState:
    """The one rule for a stick's state: retired, lent (whatever it carries), written and
    not yet lent (awaiting handover), back and not yet wiped (awaiting its wipe), or in
    storage ready for use. `events`: the stick's events in ledger order, if at hand."""
    if stick.status == UsbStick.Status.RETIRED:
        return StickState.RETIRED
    if stick.status == UsbStick.Status.LENT:
        return StickState.LENT
    if stick.needs_wipe:
        if awaiting_handover(stick, events):
            return StickState.AWAITING_HANDOVER
        return StickState.AWAITING_WIPE
    return StickState.AVAILABLE


def sort_unwiped(
    sticks: QuerySet[UsbStick],
) -> tuple[list[UsbStick], list[UsbStick]]:
    """Sticks that need a wipe, as (awaiting their wipe, awaiting handover with the
    packages written since), reading all their events in one query."""
    awaiting_wipe: list[UsbStick] = []
    carrying: list[UsbStick] = []
    for stick in sticks.prefetch_related("events"):
        waiting = carrying if awaiting_handover(stick, stick.events.all()) else awaiting_wipe
        waiting.append(stick)
    return awaiting_wipe, carrying


def _lock(stick: UsbStick) -> None:
    """Lock the stick's row and take its current state (call inside a transaction): every
    check below is made on the stick as it is now, not as a page read it earlier."""
    status, needs_wipe = (
        UsbStick.objects.select_for_update(of=("self",), no_key=True)
        .values_list("status", "needs_wipe")
        .get(pk=stick.pk)
    )
    stick.status, stick.needs_wipe = status, needs_wipe


def lend_stick(
    stick: UsbStick,
    *,
    borrower_name: str,
    due_on: dt.date,
    borrower_org: Organisation | None = None,
    purpose: str = "",
    by=None,
) -> StickLoan:
    with transaction.atomic():
        _lock(stick)
        if stick.status == UsbStick.Status.RETIRED:
            raise LedgerError("retired", _("廃棄済みのUSBメモリは貸し出せません。"))
        if stick.status == UsbStick.Status.LENT or open_loan(stick):
            raise LedgerError(
                "already_lent",
                _("%(stick)s は貸出中です。返却を先に記録してください。") % {"stick": stick.label},
            )
        # A stick written since its wipe and not yet out goes with those packages; any
        # other stick that needs a wipe stays in (W-O6).
        carried = awaiting_handover(stick)
        if stick.needs_wipe and not carried:
            raise LedgerError(
                "not_wiped",
                _("%(stick)s は消去・初期化が記録されていないため貸し出せません。")
                % {"stick": stick.label},
            )
        if not borrower_name.strip():
            raise LedgerError("no_borrower", _("借受者の氏名を入力してください。"))
        if (
            borrower_org is not None
            and not contractors_of(stick.owner).filter(pk=borrower_org.pk).exists()
        ):
            raise LedgerError(
                "borrower_not_contracted",
                _("%(org)s は%(ward)sと契約中の受託事業者ではないため、貸し出せません。")
                % {"org": borrower_org.name, "ward": stick.owner.name},
            )
        if due_on < timezone.localdate():
            raise LedgerError("bad_due", _("返却予定日は今日以降にしてください。"))
        loan = StickLoan.objects.create(
            stick=stick,
            borrower_name=borrower_name.strip()[:100],
            borrower_org=borrower_org,
            purpose=purpose.strip()[:200],
            by=_user(by),
            due_on=due_on,
            package=carried[-1].package if carried else None,
        )
        StickEvent.objects.filter(pk__in=[e.pk for e in carried]).update(loan=loan)
        stick.status = UsbStick.Status.LENT
        stick.save(update_fields=["status"])
        StickEvent.objects.create(
            stick=stick,
            kind=StickEvent.Kind.LENT,
            by=_user(by),
            by_name=_name(by),
            loan=loan,
            package=loan.package,
            text_code=ledger_text.LENT,
            text_params={
                "borrower": loan.borrower_name,
                "org": borrower_org.name if borrower_org else "",
                "due": due_on.isoformat(),
            },
        )
        _log(
            "usb.lent",
            stick,
            borrower=loan.borrower_name,
            organisation=borrower_org.code if borrower_org else "",
            due_on=due_on.isoformat(),
            packages=[str(e.package.package_id) for e in carried],
        )
    return loan


def return_stick(
    stick: UsbStick, *, returned_by_name: str = "", by=None, note: str = ""
) -> StickLoan:
    with transaction.atomic():
        _lock(stick)
        loan = open_loan(stick)
        if loan is None:
            raise LedgerError(
                "not_lent", _("%(stick)s は貸出中ではありません。") % {"stick": stick.label}
            )
        loan.returned_at = timezone.now()
        loan.returned_by_name = (returned_by_name or loan.borrower_name).strip()[:100]
        loan.received_back_by = _user(by)
        loan.save(update_fields=["returned_at", "returned_by_name", "received_back_by"])
        stick.status = UsbStick.Status.AVAILABLE
        stick.save(update_fields=["status"])
        overdue = loan.due_on < timezone.localdate()
        StickEvent.objects.create(
            stick=stick,
            kind=StickEvent.Kind.RETURNED,
            by=_user(by),
            by_name=_name(by),
            loan=loan,
            text_code=ledger_text.RETURNED,
            text_params={"returned_by": loan.returned_by_name, "overdue": overdue},
            note=note.strip()[:300],
        )
        _log("usb.returned", stick, returned_by=loan.returned_by_name, overdue=overdue)
    return loan


@transaction.atomic
def inspect_stick(stick: UsbStick, *, ok: bool, note: str = "", by=None) -> StickEvent:
    """Periodic inspection (W-O5): present, undamaged, sealed in the safe (C-O2)."""
    event = StickEvent.objects.create(
        stick=stick,
        kind=StickEvent.Kind.INSPECTED,
        by=_user(by),
        by_name=_name(by),
        result_ok=ok,
        note=note.strip()[:300],
    )
    _log("usb.inspected", stick, ok=ok)
    return event


@dataclass(frozen=True)
class WipeReport:
    removed: list[str]
    skipped: list[str]
    bytes_overwritten: int


def _is_genchi_file(path: Path) -> bool:
    name = path.name
    return name.endswith(FILE_SUFFIX) or (
        name.startswith(".") and FILE_SUFFIX in name and name.endswith(".part")
    )


@dataclass(frozen=True)
class WipePlan:
    """What a wipe of a folder will remove and skip, found before anything is touched."""

    folders: list[Path]
    targets: list[Path]
    skipped: list[str]


def _plan_wipe(folder: str | os.PathLike[str]) -> WipePlan:
    """Every Genchi package (and unfinished temporary file) in `folder`; links are never
    followed, and a link or special file of that name is skipped (and reported)."""
    root = Path(folder)
    if not root.is_dir() or root.is_symlink():
        raise LedgerError(
            "no_folder", _("消去するフォルダがありません: %(folder)s") % {"folder": root.name}
        )
    folders: list[Path] = []
    targets: list[Path] = []
    skipped: list[str] = []
    for dirpath, _dirs, files in os.walk(root, followlinks=False):
        folders.append(Path(dirpath))
        for name in sorted(files):
            path = Path(dirpath) / name
            if not _is_genchi_file(path):
                continue
            if path.is_symlink() or not path.is_file():
                skipped.append(name)
                continue
            targets.append(path)
    return WipePlan(folders, targets, skipped)


def _carry_out(plan: WipePlan) -> WipeReport:
    """Overwrite each planned file with random bytes, fsync, rename it to a random name,
    then delete it; each folder is synced once its files are gone."""
    total = 0
    for path in plan.targets:
        total += _overwrite(path)
        scrambled = path.with_name(f".wipe-{secrets.token_hex(8)}")
        os.rename(path, scrambled)
        scrambled.unlink()
    for folder in plan.folders:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return WipeReport([path.name for path in plan.targets], plan.skipped, total)


def _overwrite(path: Path) -> int:
    size = path.stat().st_size
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        written = 0
        while written < size:
            piece = secrets.token_bytes(min(WIPE_CHUNK, size - written))
            written += os.write(fd, piece)
        os.fsync(fd)
    finally:
        os.close(fd)
    return size


def wipe_stick(
    stick: UsbStick,
    *,
    method: str,
    folder: str | os.PathLike[str] | None = None,
    performed_by: str = "",
    note: str = "",
    by=None,
) -> tuple[StickEvent, WipeReport | None]:
    """Record the wipe and initialisation of a stick (W-O6); with `folder` (the mounted
    stick), first overwrite and delete the Genchi packages on it."""
    if method not in StickEvent.WipeMethod.values:
        raise LedgerError("bad_method", _("消去方法を選んでください。"))
    with transaction.atomic():
        _lock(stick)
        if stick.status == UsbStick.Status.LENT:
            raise LedgerError(
                "lent",
                _("%(stick)s は貸出中です。返却を記録してから消去してください。")
                % {"stick": stick.label},
            )
        plan = _plan_wipe(folder) if folder is not None else None
        removed = len(plan.targets) if plan else 0
        event = StickEvent.objects.create(
            stick=stick,
            kind=StickEvent.Kind.WIPED,
            by=_user(by),
            by_name=(performed_by or _name(by)).strip()[:100],
            method=method,
            files_removed=removed,
            result_ok=not (plan and plan.skipped),
            text_code=ledger_text.WIPED_FILES if plan else "",
            text_params={"n": removed} if plan else {},
            note=note.strip()[:300],
        )
        stick.needs_wipe = False
        if method == StickEvent.WipeMethod.DESTROYED:
            stick.status = UsbStick.Status.RETIRED
        stick.save(update_fields=["needs_wipe", "status"])
        _log(
            "usb.wiped",
            stick,
            method=method,
            files_removed=removed,
            skipped=len(plan.skipped) if plan else 0,
            by=event.by_name,
        )
        # The files go last, once their entry is written: a wipe whose entry fails leaves
        # them in place, and a wipe that fails half-way rolls its entry back.
        report = _carry_out(plan) if plan else None
    return event, report


# --- reading the ledger -------------------------------------------------------------------


def sticks_of(owner: Organisation) -> QuerySet[UsbStick]:
    return UsbStick.objects.filter(owner=owner).order_by("label")


@dataclass(frozen=True)
class StickRow:
    stick: UsbStick
    loan: StickLoan | None
    custodian: str
    overdue: bool
    last_wipe: StickEvent | None
    last_inspection: StickEvent | None
    awaiting_handover: bool  # written since its wipe, to be lent with the packages on it
    state: StickState


def ledger_rows(owner: Organisation, today: dt.date | None = None) -> list[StickRow]:
    """Every stick with its current custodian and overdue flag."""
    today = today or timezone.localdate()
    rows = []
    loans = StickLoan.objects.select_related("borrower_org")
    for stick in sticks_of(owner).prefetch_related(Prefetch("loans", queryset=loans), "events"):
        loan = next((x for x in stick.loans.all() if x.returned_at is None), None)
        events = list(stick.events.all())
        if stick.status == UsbStick.Status.RETIRED:
            custodian = _("廃棄済み")
        elif loan:
            custodian = loan.borrower_name + (
                f"({loan.borrower_org.name})" if loan.borrower_org else ""
            )
        else:
            custodian = _("%(owner)s(保管庫)") % {"owner": owner.name}
        rows.append(
            StickRow(
                stick=stick,
                loan=loan,
                custodian=custodian,
                overdue=bool(loan and loan.due_on < today),
                last_wipe=next(
                    (e for e in reversed(events) if e.kind == StickEvent.Kind.WIPED), None
                ),
                last_inspection=next(
                    (e for e in reversed(events) if e.kind == StickEvent.Kind.INSPECTED), None
                ),
                awaiting_handover=bool(awaiting_handover(stick, events)),
                state=stick_state(stick, events),
            )
        )
    return rows


def overdue_loans(owner: Organisation, today: dt.date | None = None) -> QuerySet[StickLoan]:
    today = today or timezone.localdate()
    return StickLoan.objects.filter(
        stick__owner=owner, returned_at__isnull=True, due_on__lt=today
    ).select_related("stick")


def ledger_events(owner: Organisation) -> QuerySet[StickEvent]:
    return (
        StickEvent.objects.filter(stick__owner=owner)
        .select_related("stick", "loan", "package", "loan__borrower_org")
        .order_by("at", "id")
    )

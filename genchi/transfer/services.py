"""The handover, end to end: export (ward), import (contractor), results, slips.

Every write is logged. Every refusal leaves nothing stored and writes an audit entry
`package.refused` carrying the refusal code (see errors.REFUSAL_MESSAGES and
TransferError below).
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.accounts.models import Role
from genchi.audit.chain import head, record
from genchi.fieldwork.models import SurveyCase
from genchi.intake.models import Batch, Case
from genchi.parties.models import Contract, Organisation

from . import orgkeys
from .errors import PackageRefused
from .models import HandoverSlip, Package, StickEvent, StickLoan, UsbStick
from .package import (
    PackageContents,
    PackageInfo,
    VerifiedPackage,
    inspect_package,
    open_package,
    write_package,
)

# J3: the only Case fields that may ever reach a package, plus the opaque reference.
# Anything not listed here cannot leave the ward (tests/transfer/test_allow_list.py).
CASE_ALLOW_LIST: tuple[str, ...] = ("postal_code", "address", "building_line", "name")
CASE_REF_FIELD = "ref"  # Case.ref travels as "case_ref"

RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("case_ref", "案件番号"),
    ("outcome", "調査結果"),
    ("visits", "訪問回数"),
    ("note", "備考"),
)

CASES_CONTENT = "居住実態調査 対象者データ(郵便番号・住所・方書・氏名)"
RESULTS_CONTENT = "居住実態調査 調査結果データ"

EXPORT_ROLES = frozenset({Role.WARD_STAFF, Role.WARD_ADMIN})
RECEIVE_ROLES = frozenset({Role.MANAGER, Role.HANDLER})


class TransferError(Exception):
    """A handover step refused for a reason outside the package format; the message is in
    the language active when it was raised."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{message} [{code}]")


Refusal = (PackageRefused, TransferError, orgkeys.OrgKeyError)


def _user(by) -> Any:
    return by if getattr(by, "pk", None) else None


def _name(by) -> str:
    return (getattr(by, "full_name", "") or getattr(by, "username", "")) if by else ""


def _require_designated(by, contract: Contract, message: str) -> None:
    """Contractor people act on a contract only while designated on it for office work
    (C-O1, S13); an undesignated colleague of the same company is refused."""
    from genchi.fieldwork.selectors import can_read_cases

    if by is not None and not can_read_cases(by, contract):
        raise TransferError("not_designated", message)


def _refused(action: str, exc: Exception, **detail: Any) -> None:
    """Log a refusal (after any transaction rolled back, so the entry survives)."""
    record(
        action,
        contract=detail.pop("contract", None),
        detail={"code": getattr(exc, "code", "error"), **detail},
    )


# --- export (ward → contractor) -----------------------------------------------------------


def case_record(case: Case) -> dict[str, str]:
    """The package record of one case: the allow-list, nothing else."""
    row = {"case_ref": getattr(case, CASE_REF_FIELD)}
    for field in CASE_ALLOW_LIST:
        row[field] = str(getattr(case, field) or "")
    return row


def _batch_records(batch: Batch) -> Iterator[dict[str, str]]:
    items = batch.items.select_related("case").order_by("position")
    for item in items.iterator(chunk_size=200):
        yield case_record(item.case)


def batch_code(batch: Batch) -> str:
    return f"B{batch.number}"


def usb_folder(stick: UsbStick) -> Path:
    """The folder standing for a mounted stick in the web UI (a browser cannot write USB)."""
    from django.conf import settings

    return Path(settings.DATA_DIR) / "usb" / stick.owner.code / stick.label


@dataclass(frozen=True)
class ExportResult:
    package: Package
    slip: HandoverSlip
    path: Path


def export_batch(
    batch: Batch,
    out_dir: str | os.PathLike[str],
    *,
    by=None,
    stick: UsbStick | None = None,
    passphrase: str | None = None,
) -> ExportResult:
    """Write the sealed batch as an encrypted, signed package and open its handover slip."""
    contract = batch.contract
    detail = {"batch": batch.pk, "contract": contract}
    try:
        return _export_batch(batch, Path(out_dir), by=by, stick=stick, passphrase=passphrase)
    except Refusal as exc:
        _refused("package.export_refused", exc, **detail)
        raise


def _export_batch(
    batch: Batch, out_dir: Path, *, by, stick: UsbStick | None, passphrase: str | None
) -> ExportResult:
    contract = batch.contract
    ward, contractor = contract.ward, contract.contractor
    if by is not None and (by.organisation_id != ward.pk or by.role not in EXPORT_ROLES):
        raise TransferError("not_allowed", _("このバッチを書き出す権限がありません。"))
    if batch.status != Batch.Status.SEALED:
        raise TransferError(
            "batch_not_sealed",
            _("封緘済みのバッチだけを書き出せます(現在: %(status)s)。")
            % {"status": batch.get_status_display()},
        )
    if not batch.items.exists():
        raise TransferError("batch_empty", _("バッチに案件がありません。"))
    if stick is not None:
        _check_stick_writable(stick, ward)
    if passphrase is not None and len(passphrase) < 12:
        raise TransferError("weak_passphrase", _("パスワードは12文字以上にしてください。"))
    secret = orgkeys.secret_keys(ward)
    recipients: list[str] = []
    if passphrase is None:
        recipients = [orgkeys.partner_card(ward, contractor).age_recipient]
    if not out_dir.is_dir():
        raise TransferError(
            "no_out_dir",
            _("書き出し先のフォルダがありません: %(folder)s") % {"folder": out_dir.name},
        )
    try:
        written = write_package(
            kind="cases",
            contract=contract.code,
            sender=ward.code,
            recipient=contractor.code,
            records=_batch_records(batch),
            signing_key=secret.signing,
            out_dir=out_dir,
            recipients=recipients,
            passphrase=passphrase,
            batch=batch_code(batch),
        )
    except ValueError as exc:
        raise TransferError(
            "write_failed", _("パッケージを書き出せませんでした: %(reason)s") % {"reason": exc}
        ) from None
    except OSError as exc:
        raise TransferError("write_failed", _write_error(exc)) from None
    try:
        with transaction.atomic():
            locked = Batch.objects.select_for_update().get(pk=batch.pk)
            if locked.status != Batch.Status.SEALED:
                raise TransferError("batch_not_sealed", _("このバッチはすでに引き渡されています。"))
            if stick is not None:
                stick = UsbStick.objects.select_for_update().get(pk=stick.pk)
                _check_stick_writable(stick, ward)
            package = Package.objects.create(
                package_id=uuid.UUID(written.package_id),
                holder=ward,
                direction=Package.Direction.OUTGOING,
                kind=Package.Kind.CASES,
                contract=contract,
                batch=batch,
                batch_code=batch_code(batch),
                sender=ward,
                recipient=contractor,
                record_count=written.record_count,
                sha256=written.sha256,
                size=written.size,
                filename=written.path.name,
                passphrase_protected=passphrase is not None,
                manifest_created_at=written.manifest.created_at,
                signing_fingerprint=secret.signing.fingerprint,
                stick=stick,
                by=_user(by),
            )
            Case.objects.filter(batch_items__batch=batch).update(status=Case.Status.HANDED_OVER)
            locked.status = Batch.Status.HANDED_OVER
            locked.save(update_fields=["status"])
            loan = _attach_to_stick(stick, package, by) if stick else None
            record(
                "package.exported",
                obj=package,
                contract=contract,
                detail={
                    "package_id": written.package_id,
                    "sha256": written.sha256,
                    "records": written.record_count,
                    "batch": batch_code(batch),
                    "stick": stick.label if stick else "",
                    "file": written.path.name,
                    "passphrase": passphrase is not None,
                },
            )
            slip = _issue_slip(
                package,
                direction=HandoverSlip.Direction.WARD_TO_CONTRACTOR,
                giver_name=_name(by),
                receiver_name=loan.borrower_name if loan else "",
                content=CASES_CONTENT,
                by=by,
            )
    except BaseException:
        written.path.unlink(missing_ok=True)
        raise
    return ExportResult(package, slip, written.path)


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


def _check_stick_writable(stick: UsbStick, owner: Organisation) -> None:
    if stick.owner_id != owner.pk:
        raise TransferError("stick_not_owned", _("このUSBメモリは区の管理するものではありません。"))
    if stick.status == UsbStick.Status.RETIRED:
        raise TransferError("stick_retired", _("廃棄済みのUSBメモリには書き込めません。"))
    if stick.needs_wipe:
        raise TransferError(
            "stick_not_wiped",
            _(
                "USBメモリ %(stick)s は前回の受け渡し後に消去されていません。"
                "先に消去・初期化を記録してください。"
            )
            % {"stick": stick.label},
        )


def _attach_to_stick(stick: UsbStick, package: Package, by) -> StickLoan | None:
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
        note=f"{package.get_kind_display()} {package.record_count}件",
    )
    return loan


# --- slips --------------------------------------------------------------------------------


def _next_slip_number(holder: Organisation, direction: str, fiscal_year: int) -> str:
    """The next number in the holder's series. Callers are inside a transaction: locking the
    holder's row serialises two handovers at once (PostgreSQL), so no number is taken twice."""
    Organisation.objects.select_for_update().filter(pk=holder.pk).first()
    prefix = f"{'S' if direction == Package.Direction.OUTGOING else 'R'}-{fiscal_year}-"
    count = HandoverSlip.objects.filter(holder=holder, number__startswith=prefix).count()
    return f"{prefix}{count + 1:04d}"


def _issue_slip(
    package: Package,
    *,
    direction: str,
    giver_name: str,
    receiver_name: str,
    content: str,
    by,
    state: str = HandoverSlip.State.ISSUED,
) -> HandoverSlip:
    count, head_hash = head()
    now = timezone.now()
    slip = HandoverSlip.objects.create(
        package=package,
        holder=package.holder,
        number=_next_slip_number(package.holder, package.direction, package.contract.fiscal_year),
        contract=package.contract,
        direction=direction,
        state=state,
        giver_org=package.sender.name,
        giver_name=giver_name,
        receiver_org=package.recipient.name,
        receiver_name=receiver_name,
        content=content,
        record_count=package.record_count,
        package_uuid=package.package_id,
        sha256=package.sha256,
        stick_label=package.stick.label if package.stick else "",
        handed_at=now,
        log_count=count,
        log_head=head_hash,
        issued_at=now,
        issued_by=_user(by),
        received_at=now if state == HandoverSlip.State.RECEIVED else None,
        received_by=_user(by) if state == HandoverSlip.State.RECEIVED else None,
    )
    record(
        "slip.issued" if state == HandoverSlip.State.ISSUED else "slip.received",
        obj=slip,
        contract=package.contract,
        detail={
            "number": slip.number,
            "package_id": str(package.package_id),
            "records": package.record_count,
            "log_head": head_hash,
            "log_count": count,
        },
    )
    return slip


def parse_slip_code(text: str) -> tuple[str, str]:
    """(package id, sha256) from a scanned QR text or a typed 'ID HASH' pair."""
    cleaned = text.strip()
    if cleaned.upper().startswith("GENCHI-SLIP:"):
        cleaned = cleaned[len("GENCHI-SLIP:") :]
    parts = [p for p in cleaned.replace(":", " ").replace(",", " ").split() if p]
    if len(parts) != 2:
        raise TransferError(
            "bad_slip_code",
            _(
                "票のQRコードの内容、またはパッケージIDとダイジェストを空白で区切って入力してください。"
            ),
        )
    try:
        package_id = str(uuid.UUID(parts[0]))
    except ValueError:
        raise TransferError("bad_slip_code", _("パッケージIDの形式が違います。")) from None
    return package_id, parts[1].lower()


def mark_received(slip: HandoverSlip, *, by=None, receiver_name: str = "") -> HandoverSlip:
    """The giver records the handover in person: who received the stick, and when."""
    with transaction.atomic():
        _lock_state(slip)
        if slip.state != HandoverSlip.State.ISSUED:
            raise TransferError("bad_state", _("発行済みの票だけを受領済みにできます。"))
        if not receiver_name.strip():
            raise TransferError("no_receiver", _("受け取った人の氏名を入力してください。"))
        slip.state = HandoverSlip.State.RECEIVED
        slip.receiver_name = receiver_name.strip()[:100]
        slip.received_at = timezone.now()
        slip.received_by = _user(by)
        slip.save(update_fields=["state", "receiver_name", "received_at", "received_by"])
        record(
            "slip.received",
            obj=slip,
            contract=slip.contract,
            detail={"number": slip.number, "receiver": slip.receiver_name},
        )
    return slip


def _lock_state(slip: HandoverSlip) -> None:
    """Lock the slip's row and take its current state: a second tab or a concurrent
    request cannot move a slip back, or confirm it twice, from what it read earlier."""
    slip.state = (
        HandoverSlip.objects.select_for_update().values_list("state", flat=True).get(pk=slip.pk)
    )


def confirm_slip(
    slip: HandoverSlip,
    *,
    code: str,
    record_count: int,
    by=None,
    giver_name: str = "",
    note: str = "",
) -> HandoverSlip:
    """C-O8: check the slip against the paper (package id + hash scanned or typed, count).

    On the receiving side the person also enters the giver's name as written on the paper
    slip; on the giving side this records that the sealed copy came back."""
    try:
        with transaction.atomic():
            _lock_state(slip)
            if slip.state == HandoverSlip.State.CONFIRMED:
                raise TransferError("bad_state", _("この票はすでに確認済みです。"))
            if slip.state != HandoverSlip.State.RECEIVED:
                raise TransferError("bad_state", _("受領を記録してから確認してください。"))
            package_id, sha = parse_slip_code(code)
            if package_id != str(slip.package_uuid) or sha != slip.sha256:
                raise TransferError(
                    "slip_mismatch",
                    _("入力されたパッケージIDまたはダイジェストが、この票の記録と一致しません。"),
                )
            if record_count != slip.record_count:
                raise TransferError(
                    "count_mismatch",
                    _("入力された件数 (%(entered)d 件) が記録 (%(recorded)d 件) と一致しません。")
                    % {"entered": record_count, "recorded": slip.record_count},
                )
            slip.state = HandoverSlip.State.CONFIRMED
            slip.confirmed_at = timezone.now()
            slip.confirmed_by = _user(by)
            if giver_name.strip() and not slip.giver_name:
                slip.giver_name = giver_name.strip()[:100]
            slip.confirmation_note = note.strip()[:200]
            slip.save(
                update_fields=[
                    "state",
                    "confirmed_at",
                    "confirmed_by",
                    "giver_name",
                    "confirmation_note",
                ]
            )
            record(
                "slip.confirmed",
                obj=slip,
                contract=slip.contract,
                detail={
                    "number": slip.number,
                    "package_id": str(slip.package_uuid),
                    "records": record_count,
                },
            )
    except TransferError as exc:
        _refused("slip.confirm_refused", exc, contract=slip.contract, slip=slip.number)
        raise
    return slip


# --- receiving: checks common to every kind ------------------------------------------------


def local_identities() -> list[tuple[Organisation, str]]:
    """Every organisation hosted here that has a key pair, with its age identity."""
    found = []
    for row in orgkeys.OrganisationKeyPair.objects.filter(retired_at__isnull=True).select_related(
        "organisation"
    ):
        found.append((row.organisation, orgkeys.secret_keys(row.organisation).encryption.identity))
    return found


def peek_manifest(path: Path, *, passphrase: str | None = None):
    """The manifest (not yet trusted) — only to learn which contract it claims."""
    identities = [identity for _, identity in local_identities()] if passphrase is None else None
    if passphrase is None and not identities:
        raise TransferError("no_key_pair", _("この Genchi には組織の鍵ペアがありません。"))
    info = inspect_package(path, identity=identities, passphrase=passphrase)
    if info.manifest is None:
        raise PackageRefused("unknown_format")
    return info.manifest


def _open_incoming(
    path: Path,
    *,
    kind: str,
    holder_side: str,
    contract_code: str | None,
    passphrase: str | None,
    by,
) -> tuple[VerifiedPackage, Contract, Organisation]:
    if not path.is_file():
        raise TransferError("no_file", _("ファイルがありません: %(file)s") % {"file": path.name})
    manifest = peek_manifest(path, passphrase=passphrase)
    code = contract_code or manifest.contract
    contract = Contract.objects.select_related("ward", "contractor").filter(code=code).first()
    if contract is None:
        raise PackageRefused(
            "wrong_contract", _("このパッケージの契約はこの Genchi に登録されていません。")
        )
    holder = contract.contractor if holder_side == "contractor" else contract.ward
    sender = contract.ward if holder_side == "contractor" else contract.contractor
    if by is not None and by.organisation_id != holder.pk:
        raise PackageRefused(
            "wrong_recipient", _("このパッケージはあなたの組織あてではありません。")
        )
    if holder_side == "contractor":
        _require_designated(
            by,
            contract,
            _("この契約の取扱責任者・取扱者に指定されていないため、パッケージを取り込めません。"),
        )
    keys = orgkeys.secret_keys(holder)
    sender_card = orgkeys.partner_card(holder, sender)

    def seen(package_id: str) -> bool:
        return Package.objects.filter(
            holder=holder, direction=Package.Direction.INCOMING, package_id=package_id
        ).exists()

    verified = open_package(
        path,
        sender_key=sender_card,
        expected_contract=contract.code,
        expected_recipient=holder.code,
        expected_sender=sender.code,
        expected_kind=kind,
        identity=keys.encryption if passphrase is None else None,
        passphrase=passphrase,
        already_imported=seen,
    )
    return verified, contract, holder


def _record_incoming(
    verified: VerifiedPackage, contract: Contract, holder: Organisation, *, by, path: Path
) -> Package:
    m = verified.manifest
    try:
        with transaction.atomic():
            return Package.objects.create(
                package_id=uuid.UUID(m.package_id),
                holder=holder,
                direction=Package.Direction.INCOMING,
                kind=m.kind,
                contract=contract,
                batch_code=m.batch or "",
                sender=contract.ward if holder == contract.contractor else contract.contractor,
                recipient=holder,
                record_count=m.record_count,
                photo_count=m.photo_count,
                sha256=verified.sha256,
                size=path.stat().st_size,
                filename=path.name[:200],
                passphrase_protected=False,
                manifest_created_at=m.created_at,
                signing_fingerprint=orgkeys.partner_card(
                    holder, contract.ward if holder == contract.contractor else contract.contractor
                ).signing_fingerprint,
                answers=uuid.UUID(m.answers) if m.answers else None,
                by=_user(by),
            )
    except IntegrityError:
        raise PackageRefused("replayed") from None


# --- import (contractor) ------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    package: Package
    slip: HandoverSlip
    created: int


def import_cases_package(
    path: str | os.PathLike[str],
    *,
    by=None,
    contract_code: str | None = None,
    passphrase: str | None = None,
    giver_name: str = "",
    stick_label: str = "",
) -> ImportResult:
    """Verify, decrypt and store a case package all or nothing; the slip is then 'received'."""
    p = Path(path)
    try:
        if by is not None and by.role not in RECEIVE_ROLES:
            raise TransferError("not_allowed", _("パッケージを取り込む権限がありません。"))
        verified, contract, holder = _open_incoming(
            p,
            kind="cases",
            holder_side="contractor",
            contract_code=contract_code,
            passphrase=passphrase,
            by=by,
        )
        with transaction.atomic():
            package = _record_incoming(verified, contract, holder, by=by, path=p)
            package.passphrase_protected = passphrase is not None
            package.save(update_fields=["passphrase_protected"])
            created = _store_cases(verified.iter_records(), contract, package)
            if created != verified.record_count:
                raise PackageRefused("count_mismatch")
            record(
                "package.imported",
                obj=package,
                contract=contract,
                detail={
                    "package_id": verified.package_id,
                    "sha256": verified.sha256,
                    "records": created,
                    "file": p.name,
                    "batch": verified.manifest.batch or "",
                },
            )
            slip = _issue_slip(
                package,
                direction=HandoverSlip.Direction.WARD_TO_CONTRACTOR,
                giver_name=giver_name.strip()[:100],
                receiver_name=_name(by),
                content=CASES_CONTENT,
                by=by,
                state=HandoverSlip.State.RECEIVED,
            )
            if stick_label.strip():
                slip.stick_label = stick_label.strip()[:64]
                slip.save(update_fields=["stick_label"])
    except Refusal as exc:
        _refused(
            "package.refused",
            exc,
            file=p.name[:200],
            kind="cases",
            contract=contract_code or "",
        )
        raise
    return ImportResult(package, slip, created)


def _store_cases(records: Iterable[Mapping[str, Any]], contract: Contract, package: Package) -> int:
    batch: list[SurveyCase] = []
    refs: set[str] = set()
    total = 0
    for row in records:
        ref = row["case_ref"]
        if ref in refs:
            raise TransferError(
                "duplicate_case", _("同じ案件番号が2回含まれています: %(ref)s") % {"ref": ref}
            )
        refs.add(ref)
        batch.append(
            SurveyCase(
                contract=contract,
                case_ref=ref,
                postal_code=row["postal_code"],
                address=row["address"],
                building_line=row["building_line"],
                name=row["name"],
                received_in=package,
            )
        )
        if len(batch) >= 250:
            total += _flush_cases(batch, contract)
    total += _flush_cases(batch, contract)
    return total


def _flush_cases(batch: list[SurveyCase], contract: Contract) -> int:
    if not batch:
        return 0
    refs = [c.case_ref for c in batch]
    if SurveyCase.objects.filter(contract=contract, case_ref__in=refs).exists():
        raise TransferError(
            "duplicate_case", _("この契約ですでに受領している案件が含まれています。")
        )
    SurveyCase.objects.bulk_create(batch)
    count = len(batch)
    batch.clear()
    return count


# --- the way back: result packages (contractor → ward) ------------------------------------


def export_results_package(
    contract: Contract,
    records: Iterable[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    by=None,
    answers: str | None = None,
    stick_label: str = "",
    columns: tuple[tuple[str, str], ...] = RESULT_COLUMNS,
) -> ExportResult:
    """Write a signed result package for the ward and open the return slip (c2w)."""
    ward, contractor = contract.ward, contract.contractor
    try:
        if by is not None and (by.organisation_id != contractor.pk or by.role not in RECEIVE_ROLES):
            raise TransferError("not_allowed", _("結果パッケージを書き出す権限がありません。"))
        _require_designated(
            by,
            contract,
            _("この契約の取扱責任者・取扱者に指定されていないため、結果を書き出せません。"),
        )
        secret = orgkeys.secret_keys(contractor)
        card = orgkeys.partner_card(contractor, ward)
        try:
            written = write_package(
                kind="results",
                contract=contract.code,
                sender=contractor.code,
                recipient=ward.code,
                records=records,
                signing_key=secret.signing,
                out_dir=Path(out_dir),
                recipients=[card.age_recipient],
                csv_columns=columns,
                answers=answers,
            )
        except ValueError as exc:
            raise TransferError(
                "write_failed", _("パッケージを書き出せませんでした: %(reason)s") % {"reason": exc}
            ) from None
        except OSError as exc:
            raise TransferError("write_failed", _write_error(exc)) from None
    except Refusal as exc:
        _refused("package.export_refused", exc, contract=contract, kind="results")
        raise
    try:
        with transaction.atomic():
            package = Package.objects.create(
                package_id=uuid.UUID(written.package_id),
                holder=contractor,
                direction=Package.Direction.OUTGOING,
                kind=Package.Kind.RESULTS,
                contract=contract,
                sender=contractor,
                recipient=ward,
                record_count=written.record_count,
                sha256=written.sha256,
                size=written.size,
                filename=written.path.name,
                manifest_created_at=written.manifest.created_at,
                signing_fingerprint=secret.signing.fingerprint,
                answers=uuid.UUID(answers) if answers else None,
                by=_user(by),
            )
            record(
                "package.exported",
                obj=package,
                contract=contract,
                detail={
                    "package_id": written.package_id,
                    "sha256": written.sha256,
                    "records": written.record_count,
                    "kind": "results",
                    "file": written.path.name,
                },
            )
            slip = _issue_slip(
                package,
                direction=HandoverSlip.Direction.CONTRACTOR_TO_WARD,
                giver_name=_name(by),
                receiver_name="",
                content=RESULTS_CONTENT,
                by=by,
            )
            if stick_label:
                slip.stick_label = stick_label[:64]
                slip.save(update_fields=["stick_label"])
    except BaseException:
        written.path.unlink(missing_ok=True)
        raise
    return ExportResult(package, slip, written.path)


def verify_results_package(
    path: str | os.PathLike[str], *, by=None, contract_code: str | None = None
) -> PackageContents:
    """Ward side: every check on a result package, returning its verified contents.

    Storing results is the fieldwork issue's job; this records nothing but the audit entry,
    so the same file can be verified again before it is imported."""
    p = Path(path)
    try:
        if by is not None and by.role not in EXPORT_ROLES:
            raise TransferError("not_allowed", _("結果パッケージを確認する権限がありません。"))
        verified, contract, _holder = _open_incoming(
            p,
            kind="results",
            holder_side="ward",
            contract_code=contract_code,
            passphrase=None,
            by=by,
        )
        contents = verified.read_all()
    except Refusal as exc:
        _refused("package.refused", exc, file=p.name[:200], kind="results")
        raise
    record(
        "package.verified",
        contract=contract,
        detail={
            "package_id": verified.package_id,
            "sha256": verified.sha256,
            "records": verified.record_count,
            "kind": "results",
        },
    )
    return contents


# --- inspect --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inspection:
    info: PackageInfo
    opened_as: str  # organisation code whose key opened it, or ""
    sender_known: bool


def inspect_file(path: str | os.PathLike[str], *, passphrase: str | None = None) -> Inspection:
    """Manifest and signature status using this Genchi's keys; never reads records."""
    p = Path(path)
    orgs = local_identities() if passphrase is None else []
    opened_as = ""
    info: PackageInfo | None = None
    if passphrase is not None:
        info = inspect_package(p, passphrase=passphrase)
    else:
        for org, identity in orgs:
            try:
                info = inspect_package(p, identity=identity)
                opened_as = org.code
                break
            except PackageRefused as exc:
                if exc.code != "wrong_key":
                    raise
        if info is None:
            info = inspect_package(p)
    sender_known = False
    if info.manifest is not None:
        card = _card_for(info.manifest.sender)
        if card is not None:
            sender_known = True
            identity = dict((o.code, i) for o, i in orgs).get(opened_as)
            info = inspect_package(p, identity=identity, passphrase=passphrase, sender_key=card)
    record(
        "package.inspected",
        detail={
            "file": p.name[:200],
            "file_sha256": info.sha256,
            "digest": info.digest or "",
            "package_id": info.manifest.package_id if info.manifest else "",
            "signature": info.signature,
        },
    )
    return Inspection(info, opened_as, sender_known)


def _card_for(org_code: str):
    """The signing key of `org_code` as known here: its own key pair or a partner card."""
    org = Organisation.objects.filter(code=org_code).first()
    if org is None:
        return None
    try:
        return orgkeys.own_card(org)
    except orgkeys.OrgKeyError:
        pass
    row = orgkeys.PartnerKeyCard.objects.filter(subject=org, retired_at__isnull=True).first()
    return orgkeys.parse_public_key_card(row.card_json) if row else None


def refusal_message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc)

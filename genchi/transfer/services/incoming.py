"""Receiving a package: every check of the format and of this Genchi's records, then the
kind's registered receiver stores the contents, all in one transaction or nothing.

A refusal stores nothing and is logged as `package.refused` with its code.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from genchi.access.roles import SIDE_OFFICE, has_role
from genchi.audit.chain import record
from genchi.package_format import PackageContents, VerifiedPackage, open_package
from genchi.parties.models import Contract, Organisation
from genchi.parties.selectors import does_office_work_on

from .. import contract_keys, handlers, orgkeys
from ..models import HandoverSlip, Package
from .common import (
    WEB_MAX_SCRYPT_WORK_FACTOR,
    Refusal,
    Refused,
    file_sha256,
    log_refusal,
    name_of,
    user_or_none,
)
from .inspect import peek_manifest
from .slips import issue_slip


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
    max_scrypt_work_factor: int = WEB_MAX_SCRYPT_WORK_FACTOR,
    handed_at: dt.datetime | None = None,
) -> ImportResult:
    """The contractor receives the ward's case package (see receive_package)."""
    return receive_package(
        path,
        kind="cases",
        by=by,
        contract_code=contract_code,
        passphrase=passphrase,
        giver_name=giver_name,
        stick_label=stick_label,
        max_scrypt_work_factor=max_scrypt_work_factor,
        handed_at=handed_at,
    )


def receive_package(
    path: str | os.PathLike[str],
    *,
    kind: str,
    by=None,
    contract_code: str | None = None,
    passphrase: str | None = None,
    giver_name: str = "",
    stick_label: str = "",
    within: Callable[[ImportResult], None] | None = None,
    max_scrypt_work_factor: int = WEB_MAX_SCRYPT_WORK_FACTOR,
    handed_at: dt.datetime | None = None,
    side: str | None = None,
) -> ImportResult:
    """Verify and decrypt a package and hand its records to the receiver registered for
    its kind, all or nothing; this side's slip is recorded as received. `within(result)`
    runs inside the transaction that stores it (a job ends there). A passphrase package
    asking a higher scrypt work factor than `max_scrypt_work_factor` is refused before
    the passphrase is tried. `side` is the receiving side for a kind both sides send
    (by default the importing person's)."""
    p = Path(path)
    try:
        receiver = handlers.receiver_for(kind)
        if receiver is None:
            raise Refused("no_handler", _("この種類のパッケージは取り込めません。"))
        holder_side = _receiving_side(receiver.side, side, by)
        if by is not None and not has_role(by, SIDE_OFFICE[holder_side]):
            raise Refused("not_allowed", _("パッケージを取り込む権限がありません。"))
        verified, contract, holder = _open_incoming(
            p,
            kind=kind,
            holder_side=holder_side,
            contract_code=contract_code,
            passphrase=passphrase,
            by=by,
            max_scrypt_work_factor=max_scrypt_work_factor,
        )
        with transaction.atomic():
            package = _record_incoming(
                verified, contract, holder, by=by, path=p, passphrase=passphrase
            )
            created = receiver.receive(
                handlers.IncomingPackage(
                    package=package,
                    contract=contract,
                    records=verified.iter_records(),
                    record_count=verified.record_count,
                    read_all=verified.read_all,
                )
            )
            if created != verified.record_count:
                raise Refused("count_mismatch")
            record(
                "package.imported",
                obj=package,
                contract=contract,
                detail={
                    "package_id": verified.package_id,
                    "digest": verified.digest,
                    "records": created,
                    "file": p.name,
                    "kind": kind,
                    "batch": verified.manifest.batch or "",
                },
            )
            slip = issue_slip(
                package,
                giver_name=giver_name.strip()[:100],
                receiver_name=name_of(by),
                by=by,
                state=HandoverSlip.State.RECEIVED,
                handed_at=handed_at,  # as on the ward's slip (else now)
            )
            if stick_label.strip():
                slip.stick_label = stick_label.strip()[:64]
                slip.save(update_fields=["stick_label"])
            result = ImportResult(package, slip, created)
            if within:
                within(result)
    except Refusal as exc:
        log_refusal(
            "package.refused", exc, file=p.name[:200], kind=kind, contract=contract_code or ""
        )
        raise
    return result


def _receiving_side(receiver_side: str, side: str | None, by) -> str:
    """The side receiving: the receiver's own, or for a kind both sides send the one
    asked for, else the importing person's."""
    if receiver_side != "either":
        return receiver_side
    if side in SIDE_OFFICE:
        return side
    for candidate in ("ward", "contractor"):
        if by is not None and has_role(by, SIDE_OFFICE[candidate]):
            return candidate
    raise Refused("not_allowed", _("取り込む側(区または受託事業者)を指定してください。"))


def verify_results_package(
    path: str | os.PathLike[str], *, by=None, contract_code: str | None = None
) -> PackageContents:
    """Ward side: every check on a result package, returning its verified contents.

    Storing results is the job of the results' receiver (a later issue); this records
    nothing but the audit entry, so the same file can be verified again before import."""
    p = Path(path)
    try:
        if by is not None and not has_role(by, SIDE_OFFICE["ward"]):
            raise Refused("not_allowed", _("結果パッケージを確認する権限がありません。"))
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
        log_refusal("package.refused", exc, file=p.name[:200], kind="results")
        raise
    record(
        "package.verified",
        contract=contract,
        detail={
            "package_id": verified.package_id,
            "digest": verified.digest,
            "records": verified.record_count,
            "kind": "results",
        },
    )
    return contents


def _open_incoming(
    path: Path,
    *,
    kind: str,
    holder_side: str,
    contract_code: str | None,
    passphrase: str | None,
    by,
    max_scrypt_work_factor: int = WEB_MAX_SCRYPT_WORK_FACTOR,
) -> tuple[VerifiedPackage, Contract, Organisation]:
    """Every check of an incoming package. A refusal names the side that sent it
    (`sender_side`), so its words tell the person whom the file came from and whom to ask
    (the ward receiving results, the contractor receiving cases)."""
    try:
        return _checked_incoming(
            path,
            kind=kind,
            holder_side=holder_side,
            contract_code=contract_code,
            passphrase=passphrase,
            by=by,
            max_scrypt_work_factor=max_scrypt_work_factor,
        )
    except Refused as exc:
        exc.params.setdefault(
            "sender_side", "ward" if holder_side == "contractor" else "contractor"
        )
        raise


def _checked_incoming(
    path: Path,
    *,
    kind: str,
    holder_side: str,
    contract_code: str | None,
    passphrase: str | None,
    by,
    max_scrypt_work_factor: int = WEB_MAX_SCRYPT_WORK_FACTOR,
) -> tuple[VerifiedPackage, Contract, Organisation]:
    if not path.is_file():
        raise Refused("no_file", _("ファイルがありません: %(file)s") % {"file": path.name})
    manifest = peek_manifest(
        path, passphrase=passphrase, max_scrypt_work_factor=max_scrypt_work_factor
    )
    code = contract_code or manifest.contract
    contract = Contract.objects.select_related("ward", "contractor").filter(code=code).first()
    if contract is None:
        raise Refused(
            "wrong_contract", _("このパッケージの契約はこの Genchi に登録されていません。")
        )
    holder = contract.contractor if holder_side == "contractor" else contract.ward
    sender = contract.ward if holder_side == "contractor" else contract.contractor
    if by is not None and by.organisation_id != holder.pk:
        raise Refused("wrong_recipient", _("このパッケージはあなたの組織あてではありません。"))
    if holder_side == "contractor" and by is not None and not does_office_work_on(by, contract):
        raise Refused(
            "not_designated",
            _("この契約の取扱責任者・取扱者に指定されていないため、パッケージを取り込めません。"),
        )
    if passphrase is None and contract_keys.is_erased(contract, holder):
        raise Refused(
            "contract_erased",
            _(
                "契約 %(contract)s は消去済みで、受け取り鍵は破棄されています。このパッケージは開けません。"
            )
            % {"contract": contract.code},
        )
    identities = contract_keys.identities_for(contract, holder) if passphrase is None else None
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
        identity=identities,
        passphrase=passphrase,
        already_imported=seen,
        max_scrypt_work_factor=max_scrypt_work_factor,
    )
    return verified, contract, holder


def _record_incoming(
    verified: VerifiedPackage,
    contract: Contract,
    holder: Organisation,
    *,
    by,
    path: Path,
    passphrase: str | None,
) -> Package:
    m = verified.manifest
    sender = contract.ward if holder == contract.contractor else contract.contractor
    try:
        with transaction.atomic():
            return Package.objects.create(
                package_id=uuid.UUID(m.package_id),
                holder=holder,
                direction=Package.Direction.INCOMING,
                kind=m.kind,
                contract=contract,
                batch_code=m.batch or "",
                sender=sender,
                recipient=holder,
                record_count=m.record_count,
                photo_count=m.photo_count,
                digest=verified.digest,
                size=path.stat().st_size,
                filename=path.name[:200],
                file_sha256=file_sha256(path),  # the same file as the giver's slip names
                passphrase_protected=passphrase is not None,
                manifest_created_at=m.created_at,
                signing_fingerprint=orgkeys.partner_card(holder, sender).signing_fingerprint,
                answers=uuid.UUID(m.answers) if m.answers else None,
                by=user_or_none(by),
            )
    except IntegrityError:
        raise Refused("replayed") from None

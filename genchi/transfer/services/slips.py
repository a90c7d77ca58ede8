"""Handover slips (受け渡し票, W-O3, C-O8): issued with a package, marked received when the
stick changes hands, confirmed against the paper. Each side keeps its own slip."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import head, record
from genchi.parties.models import Organisation

from ..models import HandoverSlip, Package
from .common import Refused, log_refusal, user_or_none

# What the slip says was handed over, by package kind.
CONTENT_BY_KIND = {
    Package.Kind.CASES: "居住実態調査 対象者データ(郵便番号・住所・方書・氏名)",
    Package.Kind.RESULTS: "居住実態調査 調査結果データ",
    Package.Kind.CERTIFICATE: "居住実態調査 消去証明書",
}


def _direction(package: Package) -> str:
    """Which way the stick travels: from the contract's ward, or back to it."""
    from_ward = package.sender_id == package.contract.ward_id
    return (
        HandoverSlip.Direction.WARD_TO_CONTRACTOR
        if from_ward
        else HandoverSlip.Direction.CONTRACTOR_TO_WARD
    )


def _next_slip_number(holder: Organisation, direction: str, fiscal_year: int) -> str:
    """The next number in the holder's series. Callers are inside a transaction: locking the
    holder's row serialises two handovers at once (PostgreSQL), so no number is taken twice."""
    Organisation.objects.select_for_update().filter(pk=holder.pk).first()
    prefix = f"{'S' if direction == Package.Direction.OUTGOING else 'R'}-{fiscal_year}-"
    count = HandoverSlip.objects.filter(holder=holder, number__startswith=prefix).count()
    return f"{prefix}{count + 1:04d}"


@transaction.atomic
def issue_slip(
    package: Package,
    *,
    giver_name: str,
    receiver_name: str,
    by,
    state: str = HandoverSlip.State.ISSUED,
) -> HandoverSlip:
    """The holder's slip of a package just recorded: issued by the giver, or received
    (the receiving side records its slip when it imports)."""
    count, head_hash = head()
    now = timezone.now()
    slip = HandoverSlip.objects.create(
        package=package,
        holder=package.holder,
        number=_next_slip_number(package.holder, package.direction, package.contract.fiscal_year),
        contract=package.contract,
        direction=_direction(package),
        state=state,
        giver_org=package.sender.name,
        giver_name=giver_name,
        receiver_org=package.recipient.name,
        receiver_name=receiver_name,
        content=CONTENT_BY_KIND.get(package.kind, ""),
        record_count=package.record_count,
        package_uuid=package.package_id,
        digest=package.digest,
        stick_label=package.stick.label if package.stick else "",
        handed_at=now,
        log_count=count,
        log_head=head_hash,
        issued_at=now,
        by=user_or_none(by),
        received_at=now if state == HandoverSlip.State.RECEIVED else None,
        received_by=user_or_none(by) if state == HandoverSlip.State.RECEIVED else None,
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
    """(package id, digest) from a scanned QR text or a typed 'ID DIGEST' pair."""
    cleaned = text.strip()
    if cleaned.upper().startswith("GENCHI-SLIP:"):
        cleaned = cleaned[len("GENCHI-SLIP:") :]
    parts = [p for p in cleaned.replace(":", " ").replace(",", " ").split() if p]
    if len(parts) != 2:
        raise Refused(
            "bad_slip_code",
            _(
                "票のQRコードの内容、またはパッケージIDとダイジェストを空白で区切って入力してください。"
            ),
        )
    try:
        package_id = str(uuid.UUID(parts[0]))
    except ValueError:
        raise Refused("bad_slip_code", _("パッケージIDの形式が違います。")) from None
    return package_id, parts[1].lower()


def mark_received(slip: HandoverSlip, *, by=None, receiver_name: str = "") -> HandoverSlip:
    """The giver records the handover in person: who received the stick, and when."""
    with transaction.atomic():
        _lock_state(slip)
        if slip.state != HandoverSlip.State.ISSUED:
            raise Refused("bad_state", _("発行済みの票だけを受領済みにできます。"))
        if not receiver_name.strip():
            raise Refused("no_receiver", _("受け取った人の氏名を入力してください。"))
        slip.state = HandoverSlip.State.RECEIVED
        slip.receiver_name = receiver_name.strip()[:100]
        slip.received_at = timezone.now()
        slip.received_by = user_or_none(by)
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
                raise Refused("bad_state", _("この票はすでに確認済みです。"))
            if slip.state != HandoverSlip.State.RECEIVED:
                raise Refused("bad_state", _("受領を記録してから確認してください。"))
            package_id, digest = parse_slip_code(code)
            if package_id != str(slip.package_uuid) or digest != slip.digest:
                raise Refused(
                    "slip_mismatch",
                    _("入力されたパッケージIDまたはダイジェストが、この票の記録と一致しません。"),
                )
            if record_count != slip.record_count:
                raise Refused(
                    "count_mismatch",
                    _("入力された件数 (%(entered)d 件) が記録 (%(recorded)d 件) と一致しません。")
                    % {"entered": record_count, "recorded": slip.record_count},
                )
            slip.state = HandoverSlip.State.CONFIRMED
            slip.confirmed_at = timezone.now()
            slip.confirmed_by = user_or_none(by)
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
    except Refused as exc:
        log_refusal("slip.confirm_refused", exc, contract=slip.contract, slip=slip.number)
        raise
    return slip

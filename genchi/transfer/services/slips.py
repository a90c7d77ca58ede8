"""Handover slips (受け渡し票, W-O3, C-O8): issued with a package, marked received when the
stick changes hands, confirmed against the paper. Each side keeps its own slip."""

from __future__ import annotations

import datetime as dt
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
    Organisation.objects.select_for_update(of=("self",), no_key=True).filter(pk=holder.pk).first()
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
    handed_at: dt.datetime | None = None,
) -> HandoverSlip:
    """The holder's slip of a package just recorded: issued by the giver (the handover
    time comes when the stick changes hands, `mark_received`), or received (the
    receiving side records its slip when it imports; `handed_at` as on the paper slip,
    else now)."""
    count, head_hash = head()
    now = timezone.now()
    if handed_at is not None and handed_at > now + dt.timedelta(minutes=5):
        raise Refused("bad_handed_at", _("受け渡し日時が未来になっています。"))
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
        handed_at=_minute(handed_at or now) if state == HandoverSlip.State.RECEIVED else None,
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


def _minute(moment: dt.datetime) -> dt.datetime:
    """A time as the slip prints it, local, to the minute: how a handover time is kept,
    so that both slips hold the same value."""
    return timezone.localtime(moment).replace(second=0, microsecond=0)


def check_handed_at(slip: HandoverSlip, handed_at: dt.datetime) -> dt.datetime:
    """A handover time a person gave: not in the future, and on the giving side not
    before the package was written (the receiving side records its package later)."""
    if timezone.is_naive(handed_at):
        handed_at = timezone.make_aware(handed_at)
    if handed_at > timezone.now() + dt.timedelta(minutes=5):
        raise Refused("bad_handed_at", _("受け渡し日時が未来になっています。"))
    outgoing = slip.package.direction == Package.Direction.OUTGOING
    if outgoing and _minute(handed_at) < _minute(slip.package.at):
        raise Refused(
            "bad_handed_at", _("受け渡し日時がパッケージの書き出しより前になっています。")
        )
    return handed_at


def mark_received(
    slip: HandoverSlip,
    *,
    by=None,
    receiver_name: str = "",
    handed_at: dt.datetime | None = None,
) -> HandoverSlip:
    """The giver records the handover in person: who received the stick, and when it
    changed hands (`handed_at`, else now): the time both slips carry."""
    with transaction.atomic():
        _lock_state(slip)
        if slip.state != HandoverSlip.State.ISSUED:
            raise Refused("bad_state", _("発行済みの票だけを受領済みにできます。"))
        if not receiver_name.strip():
            raise Refused("no_receiver", _("受け取った人の氏名を入力してください。"))
        now = timezone.now()
        slip.state = HandoverSlip.State.RECEIVED
        slip.receiver_name = receiver_name.strip()[:100]
        slip.received_at = now
        slip.received_by = user_or_none(by)
        slip.handed_at = _minute(check_handed_at(slip, handed_at) if handed_at else now)
        slip.save(
            update_fields=["state", "receiver_name", "received_at", "received_by", "handed_at"]
        )
        record(
            "slip.received",
            obj=slip,
            contract=slip.contract,
            detail={
                "number": slip.number,
                "receiver": slip.receiver_name,
                "handed_at": slip.handed_at.isoformat(),
            },
        )
    return slip


def _lock_state(slip: HandoverSlip) -> None:
    """Lock the slip's row and take its current state: a second tab or a concurrent
    request cannot move a slip back, or confirm it twice, from what it read earlier."""
    slip.state = (
        HandoverSlip.objects.select_for_update(of=("self",), no_key=True)
        .values_list("state", flat=True)
        .get(pk=slip.pk)
    )


def confirm_slip(
    slip: HandoverSlip,
    *,
    code: str,
    record_count: int,
    by=None,
    giver_name: str = "",
    note: str = "",
    handed_at: dt.datetime | None = None,
) -> HandoverSlip:
    """C-O8: check the slip against the paper (package id + hash scanned or typed, count,
    and the handover time printed on it).

    On the receiving side the person also enters the giver's name as written on the paper
    slip, and the handover time on the paper becomes this slip's (the giver recorded it
    when the stick changed hands; a different time taken at the import is corrected and
    logged); on the giving side the time must be the one recorded, and this records that
    the sealed copy came back."""
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
            corrected_from = _confirm_handed_at(slip, handed_at)
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
                    "handed_at",
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
                    "handed_at": slip.handed_at.isoformat() if slip.handed_at else "",
                    "handed_at_corrected_from": corrected_from,
                },
            )
            # Confirmed: the stick's copy is the one that counts; the server's goes, last,
            # once the confirmation is written (docs/handover.md §3).
            from .outgoing import remove_server_copy

            remove_server_copy(slip.package)
    except Refused as exc:
        log_refusal("slip.confirm_refused", exc, contract=slip.contract, slip=slip.number)
        raise
    return slip


def _confirm_handed_at(slip: HandoverSlip, handed_at: dt.datetime | None) -> str:
    """Check the handover time on the paper against this slip (inside the confirmation):
    the giver's record must match it; the receiver's takes it. The time it replaced, if
    any, for the log ("" when nothing changed)."""
    if handed_at is None:  # the command line confirms without it
        return ""
    if timezone.is_naive(handed_at):
        handed_at = timezone.make_aware(handed_at)
    same = slip.handed_at is not None and _minute(handed_at) == _minute(slip.handed_at)
    if slip.package.direction == Package.Direction.OUTGOING:
        if same:
            return ""
        recorded = timezone.localtime(slip.handed_at).strftime("%Y-%m-%d %H:%M")
        raise Refused(
            "handed_at_mismatch",
            _("入力された受け渡し日時が、手渡しの記録 (%(recorded)s) と一致しません。")
            % {"recorded": recorded},
        )
    before = "" if same or slip.handed_at is None else slip.handed_at.isoformat()
    slip.handed_at = _minute(check_handed_at(slip, handed_at))
    return before

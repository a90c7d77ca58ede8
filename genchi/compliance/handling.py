"""The handling report (取扱状況報告, S14): on the ward's request, what the contractor did
with the contract's personal information in a chosen period, from its records: packages
received and returned, the designated staff, visits, USB sticks, tablets, incidents.
Counts and dates only: no name or address of a taxpayer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import CONTRACTOR_OFFICE, WARD_READERS, has_role
from genchi.fieldwork import selectors as fieldwork_selectors
from genchi.parties import selectors as parties_selectors
from genchi.parties.models import Contract
from genchi.tablet import selectors as tablet_selectors
from genchi.transfer import selectors as transfer_selectors

from .models import Incident

MAX_PERIOD_DAYS = 3 * 366


def report_contracts_for(user) -> QuerySet[Contract]:
    """The ward asks for the report; the contractor's office answers it."""
    if has_role(user, WARD_READERS):
        return parties_selectors.contracts_for(user)
    if has_role(user, CONTRACTOR_OFFICE):
        return parties_selectors.office_contracts_for(user)
    return Contract.objects.none()


@dataclass
class Section:
    heading: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    empty: str = ""


@dataclass
class HandlingReport:
    contract: Contract
    since: dt.date
    until: dt.date
    sections: list[Section]
    made_at: dt.datetime


def _at(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _in(moment, start: dt.datetime, end: dt.datetime) -> bool:
    return moment is not None and start <= moment < end


def check_period(since: dt.date | None, until: dt.date | None) -> None:
    if since is None or until is None or since > until:
        raise ValidationError(_("期間の開始日と終了日を、開始 ≦ 終了 で指定してください。"))
    if (until - since).days > MAX_PERIOD_DAYS:
        raise ValidationError(_("期間は3年以内にしてください。"))


def handling_report(contract: Contract, since: dt.date, until: dt.date) -> HandlingReport:
    check_period(since, until)
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)

    packages = Section(
        _("受け渡し(受託者の記録)"),
        [_("日時"), _("方向"), _("種類"), _("件数"), _("受け渡し票"), _("USBメモリ")],
        empty=_("期間中の受け渡しはありません。"),
    )
    for p in transfer_selectors.packages_held(contract, holder_id=contract.contractor_id):
        if _in(p.at, start, end):
            slip = getattr(p, "slip", None)
            packages.rows.append(
                [
                    _at(p.at),
                    p.get_direction_display(),
                    p.get_kind_display(),
                    str(p.record_count),
                    slip.number if slip else "—",
                    p.stick.label if p.stick else "—",
                ]
            )

    staff = Section(
        _("指定された従事者"),
        [_("役割"), _("氏名"), _("指定日"), _("指定解除"), _("研修"), _("誓約")],
        empty=_("期間中に指定された従事者はいません。"),
    )
    for entry in parties_selectors.roster(contract):
        d = entry["designation"]
        ended = d.ended_at
        if d.starts_on > until or (ended is not None and ended < start):
            continue
        staff.rows.append(
            [
                d.get_role_display(),
                entry["person"].full_name or entry["person"].username,
                d.starts_on.isoformat(),
                _at(ended) if ended else "—",
                entry["training"].trained_on.isoformat() if entry["training"] else "—",
                entry["pledge"].signed_on.isoformat() if entry["pledge"] else "—",
            ]
        )

    counts = fieldwork_selectors.visit_counts(contract, start, end)
    visits = Section(
        _("訪問"),
        [_("訪問回数"), _("訪問した案件"), _("訪問した調査員")],
        [[str(counts["visits"]), str(counts["cases"]), str(counts["surveyors"])]],
    )

    sticks = Section(
        _("USBメモリ"),
        [_("管理番号"), _("借受者"), _("貸出"), _("返却"), _("消去")],
        empty=_("期間中のUSBメモリの貸出はありません。"),
    )
    for loan in transfer_selectors.stick_loans_of(contract):
        if _in(loan["lent_at"], start, end) or _in(loan["returned_at"], start, end):
            sticks.rows.append(
                [
                    loan["stick"],
                    loan["borrower"],
                    _at(loan["lent_at"]),
                    _at(loan["returned_at"]),
                    _at(loan["wiped_at"]),
                ]
            )

    tablets = Section(
        _("タブレット"),
        [_("端末"), _("調査員"), _("登録"), _("失効"), _("消去指示")],
        empty=_("期間中に使われたタブレットはありません。"),
    )
    for device in tablet_selectors.contract_devices(contract):
        if device.enrolled_at < end and (device.revoked_at is None or device.revoked_at >= start):
            tablets.rows.append(
                [
                    device.label or device.key_fingerprint[:12],
                    device.surveyor.full_name or device.surveyor.username,
                    _at(device.enrolled_at),
                    _at(device.revoked_at),
                    _at(device.wiped_at),
                ]
            )

    incidents = Section(
        _("事故報告"),
        [_("番号"), _("種類"), _("発見日時"), _("状態")],
        empty=_("期間中の事故報告はありません。"),
    )
    for incident in Incident.objects.filter(
        contract=contract, found_at__gte=start, found_at__lt=end
    ).order_by("found_at"):
        incidents.rows.append(
            [
                incident.label,
                incident.get_kind_display(),
                _at(incident.found_at),
                incident.get_state_display(),
            ]
        )
    return HandlingReport(
        contract=contract,
        since=since,
        until=until,
        sections=[packages, staff, visits, sticks, tablets, incidents],
        made_at=timezone.now(),
    )

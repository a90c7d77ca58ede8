"""Demo step: the full handover round trip on one Genchi hosting both sides.

Organisation keys and the contract's recipient key cards are created and exchanged, two sticks registered, one lent; the sealed demo batch is
exported to it, the slip issued, the package imported on the contractor side, both slips
confirmed, the stick returned and wiped. Without a sealed batch (the intake demo step
not run) only keys and sticks are prepared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from genchi.accounts.models import User
from genchi.parties.demo import CONTRACT_CODE
from genchi.parties.models import Contract

from . import contract_keys, ledger, orgkeys, selectors, services
from .models import StickEvent


def handover_round_trip(
    contract_code: str = CONTRACT_CODE,
    *,
    ward_staff: str = "ward-staff",
    manager: str = "manager",
    write: Callable[[str], None] | None = None,
) -> bool:
    """Returns True if a package went round, False if there was no sealed batch."""
    say = write or (lambda _text: None)
    contract = Contract.objects.select_related("ward", "contractor").get(code=contract_code)
    ward, contractor = contract.ward, contract.contractor
    staff = User.objects.get(username=ward_staff)
    boss = User.objects.get(username=manager)
    orgkeys.exchange_demo_cards(ward, contractor)
    # Packages of the contract are encrypted to its own recipient keys (erased with it).
    contract_keys.exchange_demo_cards(contract)
    stick = ledger.register_stick(
        ward,
        label="USB-01",
        serial="PW-2026-0001",
        capacity_gb=32,
        model_name="暗号化USBメモリ",
        by=staff,
    )
    ledger.register_stick(
        ward,
        label="USB-02",
        serial="PW-2026-0002",
        capacity_gb=32,
        model_name="暗号化USBメモリ",
        by=staff,
    )
    ledger.inspect_stick(stick, ok=True, note="金庫内に保管、封印異常なし", by=staff)
    batch = next(
        (item for item in selectors.sendable_for(staff) if item.contract.pk == contract.pk), None
    )
    if batch is None:
        say("封緘済みのバッチがないため、パッケージの受け渡しは省略しました。")
        return False
    ledger.lend_stick(
        stick,
        borrower_name=boss.full_name or boss.username,
        borrower_org=contractor,
        due_on=timezone.localdate() + dt.timedelta(days=7),
        purpose="調査対象者データの受け渡し",
        by=staff,
    )
    folder = services.usb_folder(stick)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    exported = services.send_item("cases", batch.key, folder, by=staff, stick=stick)
    services.mark_received(exported.slip, by=staff, receiver_name=boss.full_name or boss.username)
    imported = services.import_cases_package(
        exported.path,
        by=boss,
        giver_name=staff.full_name or staff.username,
        stick_label=stick.label,
        handed_at=exported.slip.handed_at,  # as on the ward's slip
    )
    count = imported.package.record_count
    handed_at = exported.slip.handed_at
    services.confirm_slip(
        imported.slip,
        code=imported.slip.qr_text,
        record_count=count,
        handed_at=handed_at,
        by=boss,
    )
    services.confirm_slip(
        exported.slip,
        code=exported.slip.qr_text,
        record_count=count,
        handed_at=handed_at,
        by=staff,
    )
    ledger.return_stick(stick, returned_by_name=boss.full_name or boss.username, by=staff)
    ledger.wipe_stick(
        stick,
        method=StickEvent.WipeMethod.FORMAT,
        folder=folder,
        performed_by=staff.full_name or staff.username,
        note="Genchi の上書き削除の後、機器を初期化",
        by=staff,
    )
    say(
        f"受け渡し: {count} 件を USB-01 で往復しました(票 {exported.slip.number} / {imported.slip.number})。"
    )
    return True


def demo_step() -> None:
    """The demo step registered in TransferConfig.ready."""
    handover_round_trip()

"""Shared fixtures of the handover tests: both organisations' keys, a sealed batch, a stick."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.utils import timezone

from genchi.accounts.models import Role
from genchi.intake.models import Batch, BatchItem, Case
from genchi.transfer import contract_keys, ledger, orgkeys, services

CASES = [
    ("160-0022", "東京都練馬区豊玉北五丁目1番1号", "メゾン豊玉 101", "山田 太郎"),
    ("170-0013", "東京都豊島区東池袋一丁目2番3号", "", "佐藤 花子"),
    ("=1+1", "@SUM(A1)", "-危険な方書", "+鈴木 一郎"),
]


def make_cases(contract, rows=CASES, **extra) -> list[Case]:
    made = []
    for postal_code, address, building_line, name in rows:
        case = Case(
            contract=contract,
            postal_code=postal_code,
            address=address,
            building_line=building_line,
            name=name,
            taxpayer_no="TAXNO-SECRET-123",
            name_kana="ヒミツ",
            ward_notes='{"memo": "WARD-ONLY"}',
            pref="東京都",
            city="練馬区",
            identity_key=uuid.uuid4().hex,
            status=Case.Status.IN_BATCH,
            **extra,
        )
        case.save()
        made.append(case)
    return made


def make_sealed_batch(contract, cases, *, number: int = 1, by=None) -> Batch:
    batch = Batch.objects.create(
        contract=contract,
        number=number,
        title="第1回",
        status=Batch.Status.SEALED,
        sealed_at=timezone.now(),
        sealed_by=by,
        by=by,
    )
    for position, case in enumerate(cases, 1):
        BatchItem.objects.create(batch=batch, case=case, position=position)
    return batch


def url_policy_world(people, contract) -> dict:
    """Objects behind the handover URLs, for tests/access/test_url_policy.py."""
    from genchi.transfer import services
    from genchi.transfer.models import Package

    orgkeys.exchange_demo_cards(contract.ward, contract.contractor)
    contract_keys.exchange_demo_cards(contract)
    stick = ledger.register_stick(contract.ward, label="USB-W", serial="SN-W", capacity_gb=8)
    batch = make_sealed_batch(
        contract,
        make_cases(contract, rows=[("100-0001", "東京都千代田区千代田1-1", "", "試験 一郎")]),
        number=900,
    )
    # Kept for download, as a page's export on a server keeps it (the download URL).
    out = services.download_folder(contract.ward)
    out.mkdir(parents=True, exist_ok=True)
    result = services.export_batch(
        batch, out, by=people[Role.WARD_STAFF], stick=stick, delivery=Package.Delivery.DOWNLOAD
    )
    return {"slip": result.slip, "stick": stick, "package": result.package}


def tampered_export(batch, folder: Path, *, by) -> Path:
    """Export `batch` into `folder` (created), then flip one bit in the middle of the file."""
    folder.mkdir()
    path = services.export_batch(batch, folder, by=by).path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 4
    path.write_bytes(bytes(data))
    return path

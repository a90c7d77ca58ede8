"""Received cases on the contractor side, through the real handover (export, import)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from genchi.accounts.models import Role
from genchi.fieldwork.models import SurveyCase
from genchi.transfer import services
from tests.transfer.handover_world import make_cases, make_sealed_batch

ROWS = [
    ("160-0022", "東京都練馬区豊玉北五丁目1番1号", "メゾン豊玉 101", "山田 太郎"),
    ("170-0013", "東京都豊島区東池袋一丁目2番3号", "", "佐藤 花子"),
    ("060-0001", "北海道札幌市中央区北一条西二丁目", "", "鈴木 一郎"),
    ("530-0001", "大阪府大阪市北区梅田一丁目1番", "", "田中 次郎"),
]


def receive(people, contract, rows=ROWS, *, number: int = 1) -> list[SurveyCase]:
    """Seal `rows` into a batch at the ward, export it, import it as the manager.
    The organisations' and the contract's key cards must have been exchanged."""
    batch = make_sealed_batch(
        contract, make_cases(contract, rows=rows), number=number, by=people[Role.WARD_STAFF]
    )
    with tempfile.TemporaryDirectory(prefix="genchi-fieldwork-") as out:
        result = services.export_batch(batch, Path(out), by=people[Role.WARD_STAFF])
        services.import_cases_package(result.path, by=people[Role.MANAGER])
    return list(SurveyCase.objects.filter(contract=contract).order_by("id"))

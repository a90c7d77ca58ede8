"""The demo's handover step: full round trip when a sealed batch exists, clean skip otherwise."""

from __future__ import annotations

from genchi.fieldwork.models import SurveyCase
from genchi.intake.models import Batch
from genchi.transfer.demo import handover_round_trip
from genchi.transfer.models import HandoverSlip, StickEvent, UsbStick
from tests.transfer.handover_world import make_cases, make_sealed_batch


def test_demo_round_trip(settings, tmp_path, people, contract):
    settings.DATA_DIR = tmp_path / "data"
    make_sealed_batch(contract, make_cases(contract))
    said: list[str] = []
    assert handover_round_trip(
        contract.code, ward_staff="w-staff", manager="c-manager", write=said.append
    )
    assert SurveyCase.objects.count() == 3
    assert set(HandoverSlip.objects.values_list("state", flat=True)) == {"confirmed"}
    assert HandoverSlip.objects.count() == 2
    stick = UsbStick.objects.get(label="USB-01")
    assert list(stick.events.values_list("kind", flat=True)) == [
        "registered",
        "inspected",
        "lent",
        "written",
        "returned",
        "wiped",
    ]
    assert stick.events.get(kind="wiped").method == StickEvent.WipeMethod.FORMAT
    assert not stick.needs_wipe and stick.status == UsbStick.Status.AVAILABLE
    assert Batch.objects.get().status == Batch.Status.HANDED_OVER
    assert "往復" in said[-1]


def test_demo_without_sealed_batch_skips(settings, tmp_path, people, contract):
    settings.DATA_DIR = tmp_path / "data"
    said: list[str] = []
    assert not handover_round_trip(
        contract.code, ward_staff="w-staff", manager="c-manager", write=said.append
    )
    assert UsbStick.objects.count() == 2
    assert "省略" in said[0]

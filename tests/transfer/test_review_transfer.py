"""Review findings on the handover: scoping, stale state in the slip and ledger, bounds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork.models import SurveyCase
from genchi.intake.models import Batch
from genchi.transfer import ledger, services
from genchi.transfer.models import HandoverSlip, Package, UsbStick
from genchi.transfer.refusals import Refused, refusal_message
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _due():
    return timezone.localdate() + dt.timedelta(days=3)


# --- scoping: only people designated on the contract take its personal data in -----------


def test_undesignated_contractor_person_cannot_import(sealed_batch, people, contractor, out):
    exported = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    outsider = make_person("c-handler-x", contractor, Role.HANDLER)  # same company, not designated
    with pytest.raises(Refused) as exc:
        services.import_cases_package(exported.path, by=outsider)
    assert exc.value.code == "not_designated"
    assert "指定" in refusal_message(exc.value)
    assert SurveyCase.objects.count() == 0
    assert not Package.objects.filter(direction=Package.Direction.INCOMING).exists()
    assert AuditEntry.objects.filter(action="package.refused").exists()
    # The designated manager still can.
    assert services.import_cases_package(exported.path, by=people[Role.MANAGER]).created == 3


def test_undesignated_contractor_person_cannot_send_results(people, contract, contractor, out):
    from genchi.transfer import orgkeys

    orgkeys.exchange_demo_cards(contract.ward, contractor)
    outsider = make_person("c-manager-x", contractor, Role.MANAGER)
    rows = [{"case_ref": "x", "outcome": "居住確認", "visits": "1", "note": ""}]
    with pytest.raises(Refused) as exc:
        services.export_results_package(contract, rows, out, by=outsider)
    assert exc.value.code == "not_designated"
    assert not list(out.iterdir())


# --- the slip state machine works on the row as it is now, not as it was read -------------


def test_stale_receive_cannot_undo_a_confirmation(sealed_batch, people, out):
    exported = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    stale = HandoverSlip.objects.get(pk=exported.slip.pk)  # read by a second tab
    fresh = HandoverSlip.objects.get(pk=exported.slip.pk)
    services.mark_received(fresh, by=people[Role.WARD_STAFF], receiver_name="高田 誠")
    services.confirm_slip(fresh, code=fresh.qr_text, record_count=3, by=people[Role.WARD_STAFF])
    with pytest.raises(Refused) as exc:
        services.mark_received(stale, by=people[Role.WARD_ADMIN], receiver_name="別人")
    assert exc.value.code == "bad_state"
    fresh.refresh_from_db()
    assert fresh.state == HandoverSlip.State.CONFIRMED and fresh.receiver_name == "高田 誠"


def test_stale_confirm_twice_is_refused(sealed_batch, people, out):
    exported = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    slip = HandoverSlip.objects.get(pk=exported.slip.pk)
    services.mark_received(slip, by=people[Role.WARD_STAFF], receiver_name="高田 誠")
    stale = HandoverSlip.objects.get(pk=slip.pk)
    services.confirm_slip(slip, code=slip.qr_text, record_count=3, by=people[Role.WARD_STAFF])
    with pytest.raises(Refused):
        services.confirm_slip(stale, code=slip.qr_text, record_count=3, by=people[Role.WARD_ADMIN])
    assert AuditEntry.objects.filter(action="slip.confirmed").count() == 1


# --- the ledger works on the stick as it is now -----------------------------------------------


def test_wipe_with_a_stale_stick_cannot_hide_a_loan(stick, people, contractor):
    stale = UsbStick.objects.get(pk=stick.pk)
    ledger.lend_stick(stick, borrower_name="高田 誠", due_on=_due(), by=people[Role.WARD_STAFF])
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.wipe_stick(stale, method="secure_erase", by=people[Role.WARD_STAFF])
    assert exc.value.code == "lent"
    stick.refresh_from_db()
    assert stick.status == UsbStick.Status.LENT


def test_export_rechecks_the_stick_under_lock(sealed_batch, stick, people, out):
    stale = UsbStick.objects.get(pk=stick.pk)  # read before another export wrote to it
    UsbStick.objects.filter(pk=stick.pk).update(needs_wipe=True)
    with pytest.raises(services.Refusal) as exc:
        services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF], stick=stale)
    assert exc.value.code == "stick_not_wiped"
    assert not list(out.iterdir())
    sealed_batch.refresh_from_db()
    assert sealed_batch.status == Batch.Status.SEALED
    assert not Package.objects.exists()


def test_capacity_beyond_any_stick_is_refused(ward, people, client_for):
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.register_stick(ward, label="USB-77", serial="S", capacity_gb=10**12)
    assert exc.value.code == "bad_capacity"
    client = client_for(Role.WARD_STAFF)
    client.raise_request_exception = False
    response = client.post(
        "/usb/register/", {"label": "USB-78", "serial": "S", "capacity_gb": "999999999999"}
    )
    assert response.status_code == 200
    assert not UsbStick.objects.exists()

"""USB stick ledger: custody, overdue, wipe before reuse (W-O4 – W-O6, C-O6)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.parties import services as party_services
from genchi.parties.models import Contract, Organisation
from genchi.transfer import ledger, services
from genchi.transfer.models import StickEvent, StickLoan, UsbStick


def test_register_is_ward_only_and_unique(ward, contractor, stick):
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.register_stick(contractor, label="X", serial="1", capacity_gb=1)
    assert exc.value.code == "not_ward"
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.register_stick(ward, label="USB-01", serial="2", capacity_gb=1)
    assert exc.value.code == "label_taken"
    assert AuditEntry.objects.filter(action="usb.registered").count() == 1


def test_custodian_and_overdue(ward, contractor, lent_stick, stick):
    [row] = ledger.ledger_rows(ward)
    assert row.custodian == "高田 誠(テストサービサー株式会社)" and not row.overdue
    later = timezone.localdate() + dt.timedelta(days=10)
    [row] = ledger.ledger_rows(ward, today=later)
    assert row.overdue
    assert list(ledger.overdue_loans(ward, today=later)) == [lent_stick.loans.get()]
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.lend_stick(lent_stick, borrower_name="x", due_on=later)
    assert exc.value.code == "already_lent"
    ledger.return_stick(lent_stick)
    [row] = ledger.ledger_rows(ward)
    assert row.custodian == "新宿区 税務課(保管庫)" and not row.overdue


def test_lend_refusals(stick):
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.lend_stick(stick, borrower_name=" ", due_on=timezone.localdate())
    assert exc.value.code == "no_borrower"
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.lend_stick(
            stick, borrower_name="a", due_on=timezone.localdate() - dt.timedelta(days=1)
        )
    assert exc.value.code == "bad_due"
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.return_stick(stick)
    assert exc.value.code == "not_lent"


def test_round_trip_of_a_stick(sealed_batch, lent_stick, tmp_path, people):
    """Lend → write → import → return → wipe; the stick cannot go out again unwiped."""
    staff = people[Role.WARD_STAFF]
    mount = tmp_path / "USB-01"
    mount.mkdir()
    result = services.export_batch(sealed_batch, mount, by=staff, stick=lent_stick)
    services.import_cases_package(result.path, by=people[Role.MANAGER])
    ledger.return_stick(lent_stick, returned_by_name="高田 誠", by=staff)
    lent_stick.refresh_from_db()
    assert lent_stick.needs_wipe
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.lend_stick(
            lent_stick, borrower_name="x", due_on=timezone.localdate() + dt.timedelta(days=1)
        )
    assert exc.value.code == "not_wiped"
    leftover = mount / f".{result.path.name}.abcd1234.part"
    leftover.write_bytes(b"partial")
    other = mount / "notes.txt"
    other.write_text("keep")
    (mount / "link.genchi.age").symlink_to(other)
    event, report = ledger.wipe_stick(
        lent_stick, method=StickEvent.WipeMethod.OVERWRITE_DELETE, folder=mount, by=staff
    )
    assert sorted(report.removed) == sorted([result.path.name, leftover.name])
    assert report.skipped == ["link.genchi.age"]
    assert other.read_text() == "keep"  # links are never followed
    assert not result.path.exists() and not leftover.exists()
    assert event.files_removed == 2 and not event.result_ok  # a skipped link is flagged
    lent_stick.refresh_from_db()
    assert not lent_stick.needs_wipe
    kinds = list(lent_stick.events.values_list("kind", flat=True))
    assert kinds == ["registered", "lent", "written", "returned", "wiped"]
    assert AuditEntry.objects.filter(action="usb.wiped", detail__method="overwrite").exists()
    ledger.lend_stick(
        lent_stick, borrower_name="高田 誠", due_on=timezone.localdate() + dt.timedelta(days=1)
    )


def test_wipe_overwrites_before_deleting(stick, tmp_path, monkeypatch):
    mount = tmp_path / "m"
    mount.mkdir()
    target = mount / "genchi-cases-x.genchi.age"
    target.write_bytes(b"A" * 300_000)
    seen: list[bytes] = []
    real_rename = os.rename

    def spy(src, dst):
        with open(src, "rb") as fh:
            seen.append(fh.read())
        return real_rename(src, dst)

    monkeypatch.setattr(ledger.os, "rename", spy)
    ledger.wipe_stick(stick, method=StickEvent.WipeMethod.OVERWRITE_DELETE, folder=mount)
    assert len(seen) == 1 and len(seen[0]) == 300_000 and b"A" * 64 not in seen[0]


def test_wipe_refusals_and_destroy(stick, lent_stick, tmp_path):
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.wipe_stick(lent_stick, method="overwrite")
    assert exc.value.code == "lent"
    ledger.return_stick(lent_stick)
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.wipe_stick(lent_stick, method="magic")
    assert exc.value.code == "bad_method"
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.wipe_stick(lent_stick, method="overwrite", folder=tmp_path / "absent")
    assert exc.value.code == "no_folder"
    ledger.wipe_stick(lent_stick, method=StickEvent.WipeMethod.DESTROYED, performed_by="立会 一郎")
    lent_stick.refresh_from_db()
    assert lent_stick.status == UsbStick.Status.RETIRED
    with pytest.raises(ledger.LedgerError):
        ledger.lend_stick(lent_stick, borrower_name="x", due_on=timezone.localdate())


def test_inspection(stick, people):
    ledger.inspect_stick(stick, ok=False, note="ケースに傷", by=people[Role.WARD_ADMIN])
    [row] = ledger.ledger_rows(stick.owner)
    assert row.last_inspection.note == "ケースに傷" and not row.last_inspection.result_ok
    assert StickLoan.objects.count() == 0


def test_ledger_rows_query_count_does_not_grow_with_lent_sticks(
    ward, contractor, stick, lent_stick
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from genchi.transfer.ledger import ledger_rows

    with CaptureQueriesContext(connection) as queries:
        rows = ledger_rows(ward)
    assert any(r.loan for r in rows)
    assert len(queries) <= 3  # sticks, loans (with borrower organisation), events


def test_lend_refuses_a_contractor_without_an_open_contract(stick, contract, people):
    """The service checks it too (the command line and any other caller)."""
    stranger = party_services.create_organisation(
        code="other-servicer", name="別の事業者株式会社", kind=Organisation.Kind.CONTRACTOR
    )
    due = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.lend_stick(stick, borrower_name="山田", borrower_org=stranger, due_on=due)
    assert exc.value.code == "borrower_not_contracted"
    assert "別の事業者株式会社" in exc.value.message
    contract.status = Contract.Status.CLOSED
    contract.save()
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.lend_stick(stick, borrower_name="高田", borrower_org=contract.contractor, due_on=due)
    assert exc.value.code == "borrower_not_contracted"
    assert not stick.loans.exists()


def test_stick_written_before_lending_goes_out_with_its_package(
    sealed_batch, stick, contractor, tmp_path, people
):
    """Write first, then hand over: the loan records the package written since the wipe,
    and once back the stick needs a wipe again before the next loan (W-O5, W-O6)."""
    staff = people[Role.WARD_STAFF]
    mount = tmp_path / "USB-01"
    mount.mkdir()
    result = services.export_batch(sealed_batch, mount, by=staff, stick=stick)
    stick.refresh_from_db()
    assert stick.needs_wipe
    assert [e.package for e in ledger.awaiting_handover(stick)] == [result.package]
    [row] = ledger.ledger_rows(stick.owner)
    assert row.awaiting_handover

    loan = ledger.lend_stick(
        stick,
        borrower_name="高田 誠",
        borrower_org=contractor,
        due_on=timezone.localdate() + dt.timedelta(days=3),
        by=staff,
    )
    assert loan.package == result.package
    written = stick.events.get(kind=StickEvent.Kind.PACKAGE_WRITTEN)
    lent = stick.events.get(kind=StickEvent.Kind.LENT)
    assert written.loan == loan and lent.package == result.package
    entry = AuditEntry.objects.filter(action="usb.lent").latest("id")
    assert entry.detail["packages"] == [str(result.package.package_id)]
    assert ledger.awaiting_handover(stick) == []
    [row] = ledger.ledger_rows(stick.owner)
    assert not row.awaiting_handover

    ledger.return_stick(stick, returned_by_name="高田 誠", by=staff)
    stick.refresh_from_db()
    assert ledger.awaiting_handover(stick) == []
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.lend_stick(
            stick, borrower_name="x", due_on=timezone.localdate() + dt.timedelta(days=1)
        )
    assert exc.value.code == "not_wiped"


def test_a_stick_back_from_a_loan_without_a_package_can_carry_the_next_one(
    sealed_batch, stick, tmp_path, people
):
    """Lent and returned empty, the stick needs no wipe; a package written then goes out
    with the next loan."""
    staff = people[Role.WARD_STAFF]
    due = timezone.localdate() + dt.timedelta(days=1)
    ledger.lend_stick(stick, borrower_name="高田 誠", due_on=due, by=staff)
    ledger.return_stick(stick, returned_by_name="高田 誠", by=staff)
    stick.refresh_from_db()
    assert not stick.needs_wipe
    mount = tmp_path / "USB-01"
    mount.mkdir()
    result = services.export_batch(sealed_batch, mount, by=staff, stick=stick)
    loan = ledger.lend_stick(stick, borrower_name="高田 誠", due_on=due, by=staff)
    assert loan.package == result.package


def test_wipe_with_a_stale_stick_cannot_hide_a_loan(stick, people, contractor):
    stale = UsbStick.objects.get(pk=stick.pk)
    due = timezone.localdate() + dt.timedelta(days=3)
    ledger.lend_stick(stick, borrower_name="高田 誠", due_on=due, by=people[Role.WARD_STAFF])
    with pytest.raises(ledger.LedgerError) as exc:
        ledger.wipe_stick(stale, method="secure_erase", by=people[Role.WARD_STAFF])
    assert exc.value.code == "lent"
    stick.refresh_from_db()
    assert stick.status == UsbStick.Status.LENT


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

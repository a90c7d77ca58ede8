"""Handover slips (W-O3, C-O8): issued → received → confirmed against the paper, on the row
as it is now rather than as a second tab read it."""

from __future__ import annotations

import pytest

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.transfer import services
from genchi.transfer.models import HandoverSlip
from genchi.transfer.refusals import Refused
from genchi.transfer.selectors import packages_for, slips_for
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_slip_state_machine(exported, people):
    slip = exported.slip
    staff = people[Role.WARD_STAFF]
    with pytest.raises(Refused) as exc:
        services.confirm_slip(slip, code=slip.qr_text, record_count=3, by=staff)
    assert exc.value.code == "bad_state"
    with pytest.raises(Refused):
        services.mark_received(slip, by=staff, receiver_name="  ")
    services.mark_received(slip, by=staff, receiver_name="高田 誠")
    with pytest.raises(Refused):
        services.mark_received(slip, by=staff, receiver_name="高田 誠")
    with pytest.raises(Refused) as exc:
        services.confirm_slip(slip, code=f"{slip.package_uuid} {'0' * 64}", record_count=3)
    assert exc.value.code == "slip_mismatch"
    with pytest.raises(Refused) as exc:
        services.confirm_slip(slip, code=slip.qr_text, record_count=4)
    assert exc.value.code == "count_mismatch"
    assert AuditEntry.objects.filter(action="slip.confirm_refused").count() == 3
    typed = f"{slip.package_uuid}  {slip.digest.upper()}"  # typed by hand, any case
    services.confirm_slip(slip, code=typed, record_count=3, by=staff)
    slip.refresh_from_db()
    assert slip.state == HandoverSlip.State.CONFIRMED and slip.confirmed_by == staff
    with pytest.raises(Refused):
        services.confirm_slip(slip, code=slip.qr_text, record_count=3)


def test_parse_slip_code():
    pid = "0b7f9a62-8f7e-4d43-9b39-2a0f1a3c5d11"
    assert services.parse_slip_code(f"GENCHI-SLIP:{pid}:{'a' * 64}") == (pid, "a" * 64)
    assert services.parse_slip_code(f" {pid}\n{'A' * 64} ") == (pid, "a" * 64)
    for bad in ("", "nonsense", f"{pid}", "zz " + "a" * 64):
        with pytest.raises(Refused):
            services.parse_slip_code(bad)


def test_stale_receive_cannot_undo_a_confirmation(exported, people):
    stale = HandoverSlip.objects.get(pk=exported.slip.pk)  # read by a second tab
    fresh = HandoverSlip.objects.get(pk=exported.slip.pk)
    services.mark_received(fresh, by=people[Role.WARD_STAFF], receiver_name="高田 誠")
    services.confirm_slip(fresh, code=fresh.qr_text, record_count=3, by=people[Role.WARD_STAFF])
    with pytest.raises(Refused) as exc:
        services.mark_received(stale, by=people[Role.WARD_ADMIN], receiver_name="別人")
    assert exc.value.code == "bad_state"
    fresh.refresh_from_db()
    assert fresh.state == HandoverSlip.State.CONFIRMED and fresh.receiver_name == "高田 誠"


def test_stale_confirm_twice_is_refused(exported, people):
    slip = HandoverSlip.objects.get(pk=exported.slip.pk)
    services.mark_received(slip, by=people[Role.WARD_STAFF], receiver_name="高田 誠")
    stale = HandoverSlip.objects.get(pk=slip.pk)
    services.confirm_slip(slip, code=slip.qr_text, record_count=3, by=people[Role.WARD_STAFF])
    with pytest.raises(Refused):
        services.confirm_slip(stale, code=slip.qr_text, record_count=3, by=people[Role.WARD_ADMIN])
    assert AuditEntry.objects.filter(action="slip.confirmed").count() == 1


def test_contractor_slips_need_an_office_designation(exported, people):
    """Issue 12: after a role change (surveyor → handler) the person saw the contract's
    slips while designated on it only as a surveyor. Role and designation must both allow."""
    services.import_cases_package(exported.path, by=people[Role.MANAGER])
    promoted = people[Role.SURVEYOR]
    promoted.role = Role.HANDLER
    promoted.save(update_fields=["role"])
    assert slips_for(people[Role.HANDLER]).filter(holder=promoted.organisation).exists()
    assert not slips_for(promoted).exists()
    assert not packages_for(promoted).exists()
    slip = slips_for(people[Role.HANDLER]).get(holder=promoted.organisation)
    response = signed_in_client(promoted).get(f"/handover/slips/{slip.pk}/")
    assert response.status_code in (403, 404)

"""Enrolment of a tablet for one surveyor (C-S2.3): the tablet's key, the code it shows,
the manager's confirmation in the office, refusals with their reasons, the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.tablet import services
from genchi.tablet.models import Enrolment, TabletDevice
from tests.conftest import make_person
from tests.tablet.conftest import FakeTablet

pytestmark = pytest.mark.django_db


def test_enrol_then_confirm_in_the_office(people, contract, tablet, client_for):
    code = tablet.enrol()
    assert len(code) == 8
    status = tablet.post("/tablet/api/enrol/status/", {"public_key": tablet.spki}).json()
    assert status == {"state": "pending", "code": code}

    surveyor = people[Role.SURVEYOR]
    office = client_for(Role.MANAGER)
    page = office.get("/tablet/devices/")
    assert page.status_code == 200
    response = office.post(
        "/tablet/devices/",
        {"code": code.lower(), "contract": contract.pk, "surveyor": surveyor.pk, "label": "T-01"},
    )
    assert response.status_code == 302
    device = TabletDevice.objects.get()
    assert (device.surveyor, device.contract, device.by) == (
        surveyor,
        contract,
        people[Role.MANAGER],
    )
    assert device.public_key == tablet.spki
    status = tablet.post("/tablet/api/enrol/status/", {"public_key": tablet.spki}).json()
    assert status["state"] == "enrolled" and status["device"] == device.pk
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"tablet.enrolment_requested", "tablet.enrolled"} <= actions


def test_enrolment_request_must_be_signed_by_its_key(tablet):
    other = FakeTablet()
    response = tablet.post(
        "/tablet/api/enrol/", {"public_key": other.spki}
    )  # signed by a key that is not the one sent
    assert response.status_code == 401
    assert not Enrolment.objects.exists()
    response = tablet.post("/tablet/api/enrol/", {"public_key": "bm90IGEga2V5"})
    assert response.status_code == 400


def test_only_a_designated_qualified_surveyor(people, contract, contractor, tablet):
    code = tablet.enrol()
    untrained = make_person("c-untrained", contractor, Role.SURVEYOR, qualified=False)
    with pytest.raises(services.Refused) as refused:
        services.confirm_enrolment(
            code, contract=contract, surveyor=untrained, label="", by=people[Role.MANAGER]
        )
    assert "研修" in refused.value.message and "誓約書" in refused.value.message
    assert "調査員に指定されていません" in refused.value.message
    for role in (Role.HANDLER, Role.MANAGER, Role.WARD_STAFF):
        with pytest.raises(services.Refused):
            services.confirm_enrolment(
                code, contract=contract, surveyor=people[role], label="", by=people[Role.MANAGER]
            )
    assert not TabletDevice.objects.exists()
    assert AuditEntry.objects.filter(action="tablet.enrolment_refused").count() == 4


def test_a_closed_contract_enrols_no_tablet(people, contract, tablet, client_for):
    """An ended or erased contract is not offered on the office page, and a confirmation
    naming it is refused with the reason."""
    from genchi.parties.models import Contract

    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.CLOSED)
    contract.refresh_from_db()
    page = client_for(Role.MANAGER).get("/tablet/devices/").content.decode()
    assert f'value="{contract.pk}"' not in page
    code = tablet.enrol()
    with pytest.raises(services.Refused) as refused:
        services.confirm_enrolment(
            code,
            contract=contract,
            surveyor=people[Role.SURVEYOR],
            label="",
            by=people[Role.MANAGER],
        )
    assert "履行中ではありません" in refused.value.message
    assert not TabletDevice.objects.exists()


def test_office_page_shows_the_reasons(people, contract, contractor, client_for, tablet):
    from genchi.parties import services as parties

    code = tablet.enrol()
    lapsed = make_person("c-lapsed", contractor, Role.SURVEYOR)
    parties.designate(
        contract=contract,
        person=lapsed,
        role="surveyor",
        starts_on=contract.starts_on,
        by=people[Role.WARD_ADMIN],
    )
    lapsed.is_active = False
    lapsed.save()
    response = client_for(Role.MANAGER).post(
        "/tablet/devices/", {"code": code, "contract": contract.pk, "surveyor": lapsed.pk}
    )
    assert response.status_code == 200
    assert "この利用者は無効になっています" in response.content.decode()
    assert not TabletDevice.objects.exists()


def test_expired_code_is_refused(people, contract, tablet):
    code = tablet.enrol()
    Enrolment.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(services.Refused) as refused:
        services.confirm_enrolment(
            code,
            contract=contract,
            surveyor=people[Role.SURVEYOR],
            label="",
            by=people[Role.MANAGER],
        )
    assert "有効期限" in refused.value.message


def test_enrolment_only_from_the_office_network(tablet, settings):
    settings.GENCHI_TABLET_SYNC_NETWORKS = {"*": ["192.168.10.0/24"]}
    tablet.ip = "203.0.113.7"
    response = tablet.post("/tablet/api/enrol/", {"public_key": tablet.spki})
    assert response.status_code == 403
    assert "事務所" in response.json()["error"]
    assert AuditEntry.objects.filter(action="tablet.network_refused").exists()


def test_revoke_in_the_office(enrolled, people, client_for):
    office = client_for(Role.MANAGER)
    response = office.post(f"/tablet/devices/{enrolled.device_id}/revoke/", {"reason": "紛失"})
    assert response.status_code == 302
    device = TabletDevice.objects.get()
    assert device.revoked_at is not None and device.revoke_reason == "紛失"
    assert AuditEntry.objects.filter(action="tablet.revoked").exists()
    # a handler (not the manager) cannot
    assert client_for(Role.HANDLER).get("/tablet/devices/").status_code == 403

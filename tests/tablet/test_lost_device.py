"""A lost or stolen tablet in one office action (issue 16 item 7, C-S2.7): the device is
revoked, the cases that were on it are recorded, an incident report is opened."""

from __future__ import annotations

import pytest

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.compliance.models import Incident
from genchi.tablet.models import TabletDevice
from tests.tablet.test_sync_up import ready

pytestmark = pytest.mark.django_db


def test_lost_tablet_is_revoked_recorded_and_reported(enrolled, people, assigned, client_for):
    tablet = ready(enrolled, people)  # the device holds the surveyor's two cases
    refs = sorted(c.case_ref for c in assigned["mine"])
    response = client_for(Role.MANAGER).post(
        f"/tablet/devices/{tablet.device_id}/lost/",
        {"found_by": "調査員 早稲田", "summary": "11月30日、電車内に置き忘れた。"},
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.pk}/"
    assert incident.kind == "loss" and incident.affected_refs == refs
    assert "失効させました" in incident.first_actions and "2 件" in incident.first_actions
    device = TabletDevice.objects.get(pk=tablet.device_id)
    assert device.revoked_at is not None and device.revoke_reason == "紛失・盗難"
    entry = AuditEntry.objects.filter(action="tablet.lost_reported").get()
    assert entry.detail["refs"] == refs and entry.detail["incident"] == incident.pk
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == ["tablet.revoked", "incident.reported", "tablet.lost_reported"]
    # The tablet wipes itself at its next contact.
    answer = tablet.sync()
    assert answer.status_code == 410 and answer.json()["wipe"] is True


def test_a_report_without_a_summary_changes_nothing(enrolled, people, assigned, client_for):
    ready(enrolled, people)
    response = client_for(Role.MANAGER).post(
        f"/tablet/devices/{enrolled.device_id}/lost/", {"found_by": "x", "summary": " "}
    )
    assert response.status_code == 302 and response["Location"] == "/tablet/devices/"
    assert not Incident.objects.exists()
    assert TabletDevice.objects.get(pk=enrolled.device_id).revoked_at is None


def test_only_the_manager_of_the_contract_reports_a_lost_tablet(enrolled, client_for):
    for role in (Role.SURVEYOR, Role.HANDLER, Role.WARD_ADMIN):
        response = client_for(role).post(
            f"/tablet/devices/{enrolled.device_id}/lost/", {"summary": "紛失"}
        )
        assert response.status_code in (403, 404), role
    assert not Incident.objects.exists()

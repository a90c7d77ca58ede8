"""Incidents (S19, S20): recorded by either side, on the ward's home at once, then reported
in writing, instructed, completed and closed by the ward; each step by the right side."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.compliance import incidents
from genchi.compliance.documents import first_report_pdf
from genchi.compliance.models import Incident, IncidentEntry
from tests.core.test_pdf import fonts_embedded
from tests.fieldwork.world import receive

Step = IncidentEntry.Kind


@pytest.fixture
def received(people, contract, keys_exchanged):
    return receive(people, contract)


def _record(people, contract, refs, role=Role.MANAGER):
    return incidents.record_incident(
        people[role],
        contract,
        kind=Incident.Kind.LOSS,
        found_at=timezone.now() - dt.timedelta(hours=1),
        found_by="調査員 一郎",
        summary="調査中の書類一式を電車内に置き忘れた。",
        first_actions="鉄道会社に遺失届を提出。",
        affected_refs=refs,
    )


def test_a_contractor_reports_and_the_ward_sees_it_at_once(received, people, contract, client_for):
    refs = [c.case_ref for c in received[:2]]
    incident = _record(people, contract, refs)
    assert incident.label == f"{contract.code}-001" and incident.side == "contractor"
    home = client_for(Role.WARD_STAFF).get("/")
    assert incident.label in home.content.decode()
    page = client_for(Role.WARD_AUDITOR).get(f"/incidents/{incident.pk}/")
    assert page.status_code == 200 and refs[0] in page.content.decode()
    entry = AuditEntry.objects.get(action="incident.reported")
    assert entry.detail["cases"] == 2 and "電車" not in str(entry.detail)


def test_unknown_case_references_are_refused(received, people, contract):
    with pytest.raises(ValidationError) as exc:
        _record(people, contract, [received[0].case_ref, "no-such-ref"])
    assert "no-such-ref" in str(exc.value)
    assert not Incident.objects.exists()


def test_the_steps_go_to_the_right_side(received, people, contract):
    incident = _record(people, contract, [])
    manager, staff = people[Role.MANAGER], people[Role.WARD_STAFF]
    assert Step.INSTRUCTION not in incidents.allowed_steps(manager, incident)
    with pytest.raises(PermissionDenied):
        incidents.add_entry(manager, incident, kind=Step.CLOSING, text="完了")
    incidents.add_entry(manager, incident, kind=Step.WRITTEN_REPORT, text="経緯と再発防止策")
    incident.refresh_from_db()
    assert incident.state == Incident.State.WRITTEN
    with pytest.raises(PermissionDenied):  # the ward does not report on the contractor's behalf
        incidents.add_entry(staff, incident, kind=Step.WRITTEN_REPORT, text="x")
    incidents.add_entry(
        staff, incident, kind=Step.INSTRUCTION, text="対象者への連絡方法を報告すること"
    )
    incidents.add_entry(manager, incident, kind=Step.COMPLETION, text="報告済み")
    incidents.add_entry(staff, incident, kind=Step.CLOSING, text="確認した")
    incident.refresh_from_db()
    assert incident.state == Incident.State.CLOSED and incident.closed_at
    assert not incidents.open_incidents_for(staff).exists()
    assert incidents.allowed_steps(manager, incident) == []
    assert AuditEntry.objects.filter(action="incident.updated").count() == 4


def test_who_may_see_and_record(received, people, contract, client_for):
    incident = _record(people, contract, [])
    assert client_for(Role.SURVEYOR).get("/incidents/").status_code == 403
    assert client_for(Role.WARD_AUDITOR).get("/incidents/new/").status_code == 403
    with pytest.raises(PermissionDenied):
        _record(people, contract, [], role=Role.WARD_AUDITOR)
    listed = client_for(Role.HANDLER).get("/incidents/")
    assert incident.label in listed.content.decode()


def test_the_form_says_what_is_wrong_at_the_field(received, people, contract, client_for):
    response = client_for(Role.MANAGER).post(
        "/incidents/new/",
        {
            "contract": contract.pk,
            "kind": "loss",
            "found_at": "2026-11-30T10:00",
            "found_by": "",
            "summary": "",
            "affected_refs": "no-such-ref",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "found_by" in form.errors and "summary" in form.errors
    assert not Incident.objects.exists()


def test_the_first_report_pdf(received, people, contract, tmp_path):
    incident = _record(people, contract, [received[0].case_ref])
    data = first_report_pdf(incident)
    assert fonts_embedded(data, tmp_path)
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "事故報告書" in text and "令和" in text and received[0].case_ref in text

"""The auditor's view of a whole contract: every step in order, each record with its log
entries checked as links of the chain; the auditor and the administrator only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.compliance import audits, checklist, history
from genchi.evaluation import services as evaluation
from tests.evaluation.world import KNOWN, results

pytestmark = pytest.mark.django_db


@pytest.fixture
def lived(people, contract):
    staff = people[Role.WARD_STAFF]
    refs = [r.case_ref for r in results(contract, KNOWN[:3])]
    evaluation.add_contact(
        staff, contract, case_ref=refs[0], kind="phone", contacted_on=timezone.localdate()
    )
    checklist.answer_item(
        staff, contract, item="C-O5", answer="yes", checked_on=timezone.localdate()
    )
    audits.record_audit(
        staff, contract, audited_on=timezone.localdate(), inspector="戸山", findings="良好"
    )
    return refs


def test_only_the_auditor_and_the_administrator_open_it(people, contract, client_for, lived):
    url = f"/compliance/history/{contract.code}/"
    for role in (Role.WARD_AUDITOR, Role.WARD_ADMIN):
        assert client_for(role).get(url).status_code == 200
    for role in (Role.WARD_STAFF, Role.MANAGER, Role.HANDLER, Role.SURVEYOR):
        assert client_for(role).get(url).status_code == 403
    assert AuditEntry.objects.filter(
        action="contract_history.viewed", contract_code=contract.code
    ).exists()


def test_every_step_in_order_with_its_log_entries(people, contract, client_for, lived):
    steps = history.history(people[Role.WARD_AUDITOR], contract)
    assert [s.code for s in steps] == [
        "intake",
        "batches",
        "handovers",
        "results",
        "follow_up",
        "checklist",
        "audits",
        "incidents",
        "erasure",
    ]
    by_code = {s.code: s for s in steps}
    intake_entries = [e.action for ev in by_code["intake"].events for e in ev.entries]
    assert intake_entries and all(a.startswith("intake.import.") for a in intake_entries)
    assert [e.action for e in by_code["checklist"].events[0].entries] == ["checklist.answered"]
    assert [e.action for e in by_code["audits"].events[0].entries] == ["onsite_audit.recorded"]
    assert [e.action for e in by_code["follow_up"].events[0].entries] == ["followup.recorded"]
    shown = [e for s in steps for ev in s.events for e in ev.entries]
    assert shown and all(e.link_ok for e in shown)
    page = client_for(Role.WARD_AUDITOR).get(f"/compliance/history/{contract.code}/")
    body = page.content.decode()
    seq = by_code["audits"].events[0].entries[0].seq
    assert f"#{seq} ✓" in body and "改ざん検査" in body
    assert body.index('id="step-intake"') < body.index('id="step-results"')
    assert body.index('id="step-results"') < body.index('id="step-audits"')


def test_an_entry_edited_behind_the_triggers_shows_as_broken(people, contract, client_for, lived):
    entry = AuditEntry.objects.get(action="onsite_audit.recorded")
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        else:
            cur.execute("DROP TRIGGER audit_auditentry_no_update")
        cur.execute(
            "UPDATE audit_auditentry SET detail = %s WHERE seq = %s", ['{"actions": 9}', entry.seq]
        )
    body = (
        client_for(Role.WARD_AUDITOR).get(f"/compliance/history/{contract.code}/").content.decode()
    )
    assert f"#{entry.seq} ✗" in body

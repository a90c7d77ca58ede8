"""The compliance checklist (W-O2): evidence drawn from the records themselves (change a
record, the evidence changes), the inspector's answers, the on-site audit reminder at the
fiscal year's edges (S16), audits with follow-up, the handling report (S14) and the
printed sheets."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from genchi.accounts.models import Role, TOTPDevice
from genchi.audit.models import AuditEntry
from genchi.compliance import audits, checklist, handling, sheets
from genchi.compliance.models import ChainCheck, ChecklistAnswer, OnSiteAudit
from genchi.parties.models import Contract, Designation, TrainingRecord
from genchi.tablet.models import TabletDevice
from genchi.transfer.models import Package, StickEvent, StickLoan, UsbStick
from tests.core.test_pdf import fonts_embedded
from tests.transfer.conftest import keys_exchanged  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _row(contract, code):
    return next(r for r in checklist.checklist(contract).rows if r.item.code == code)


def test_staff_evidence_names_designations_and_follows_the_records(people, contract):
    row = _row(contract, "staff")
    assert row.status == "problem"  # the fixture's designations were not reported
    assert any("区への報告日" in line for line in row.lines)
    Designation.objects.filter(contract=contract).update(reported_to_ward_on=contract.starts_on)
    row = _row(contract, "staff")
    assert row.status == "ok"
    manager = people[Role.MANAGER]
    assert any(manager.full_name in line and "研修" in line for line in row.lines)
    TrainingRecord.objects.filter(person=manager).delete()
    assert _row(contract, "staff").status == "problem"


def test_second_factor_evidence_counts_everyone_designated(people, contract):
    assert _row(contract, "second_factor").status == "ok"
    TOTPDevice.objects.filter(user=people[Role.HANDLER]).delete()
    row = _row(contract, "second_factor")
    assert row.status == "problem"
    assert any(people[Role.HANDLER].full_name in line for line in row.lines)


def test_log_evidence_shows_the_head_and_the_last_check(people, contract):
    assert _row(contract, "log").status == "pending"
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.entry_hash in " ".join(_row(contract, "log").lines)
    ChainCheck.objects.create(ok=True, entry_count=last.seq, head_hash=last.entry_hash)
    assert _row(contract, "log").status == "ok"
    ChainCheck.objects.create(ok=False, entry_count=last.seq)
    assert _row(contract, "log").status == "problem"


def _package(contract):
    return Package.objects.create(
        holder=contract.ward,
        direction=Package.Direction.OUTGOING,
        kind=Package.Kind.CASES,
        contract=contract,
        sender=contract.ward,
        recipient=contract.contractor,
        record_count=1,
        digest="0" * 64,
        size=1,
        filename="p.age",
        manifest_created_at="",
        signing_fingerprint="",
    )


def test_sticks_evidence_follows_lending_return_and_wipe(people, contract):
    assert _row(contract, "sticks").status == "pending"
    stick = UsbStick.objects.create(owner=contract.ward, label="USB-09", serial="S9", capacity_gb=8)
    loan = StickLoan.objects.create(
        stick=stick,
        borrower_name="高田 誠",
        due_on=timezone.localdate(),
        package=_package(contract),
    )
    row = _row(contract, "sticks")
    assert row.status == "problem" and "USB-09" in row.lines[0]
    loan.returned_at = timezone.now()
    loan.save()
    assert _row(contract, "sticks").status == "problem"  # returned, not yet wiped
    StickEvent.objects.create(stick=stick, kind=StickEvent.Kind.WIPED, at=timezone.now())
    assert _row(contract, "sticks").status == "ok"


def test_tablets_evidence_follows_enrolment_revocation_and_wipe(people, contract):
    assert _row(contract, "tablets").status == "pending"
    device = TabletDevice.objects.create(
        contract=contract,
        surveyor=people[Role.SURVEYOR],
        public_key="",
        key_fingerprint="a" * 64,
        label="TAB-1",
        by=people[Role.MANAGER],
    )
    assert _row(contract, "tablets").status == "pending"  # in use during the survey
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.CLOSING)
    contract.refresh_from_db()
    assert _row(contract, "tablets").status == "problem"
    device.revoked_at = device.wiped_at = timezone.now()
    device.save()
    row = _row(contract, "tablets")
    assert row.status == "ok" and "TAB-1" in row.lines[0]


def test_assignments_evidence_counts_the_refusals_of_the_contractors_people(
    people, contract, client_for
):
    before = _row(contract, "assignments").lines[0]
    assert client_for(Role.SURVEYOR).get("/compliance/checklists/").status_code == 403
    after = _row(contract, "assignments")
    assert before != after.lines[0] and "1 件" in after.lines[0]
    assert "access.denied" in after.lines[1] or "アクセス拒否" in after.lines[1]


def test_erasure_evidence_follows_the_erasure_and_the_verified_certificate(
    people,
    contract,
    keys_exchanged,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    """Not yet → erased by the contractor, waiting for the certificate → verified, with
    the certificate's id and counts; the contract's history shows both steps with their
    log entries."""
    from genchi.compliance.history import history
    from genchi.erasure import services as erasure
    from genchi.transfer import services as transfer
    from tests.erasure.world import survey_to_the_end

    assert _row(contract, "erasure").status == "pending"
    assert "まだ消去されていません" in _row(contract, "erasure").lines[0]
    survey_to_the_end(people, contract, tmp_path / "results")
    manager, staff = people[Role.MANAGER], people[Role.WARD_STAFF]
    started = erasure.start_erasure(contract, by=manager)
    code = erasure.issue_witness_code(contract, started.challenge, by=staff)
    started = erasure.confirm_by_code(started, witness_name="戸山 花子", code=code, by=manager)
    done = erasure.erase(started, by=manager)
    row = _row(contract, "erasure")
    assert row.status == "pending" and "検証を待っています" in row.lines[0]
    (tmp_path / "cert").mkdir()
    path = erasure.write_certificate_package(done, tmp_path / "cert", by=manager).path
    transfer.receive_package(path, kind="certificate", by=staff)
    row = _row(contract, "erasure")
    assert row.status == "ok" and str(done.certificate_id) in row.lines[0]
    (step,) = [s for s in history(people[Role.WARD_AUDITOR], contract) if s.code == "erasure"]
    assert len(step.events) == 2 and all(event.entries for event in step.events)


def test_the_inspector_answers_what_software_cannot_know(people, contract):
    staff = people[Role.WARD_STAFF]
    assert _row(contract, "C-O2").status == "unanswered"
    checklist.answer_item(
        staff, contract, item="C-O2", answer="yes", checked_on=timezone.localdate(), note="金庫"
    )
    row = _row(contract, "C-O2")
    assert row.status == "ok" and staff.full_name in row.lines[0] and row.lines[1] == "金庫"
    checklist.answer_item(
        staff, contract, item="C-O2", answer="no", checked_on=timezone.localdate(), note="施錠なし"
    )
    assert _row(contract, "C-O2").status == "problem"  # the latest answer is in force
    assert ChecklistAnswer.objects.count() == 2
    with pytest.raises(ValidationError):
        checklist.answer_item(
            staff, contract, item="C-S1.1", answer="no", checked_on=timezone.localdate()
        )
    with pytest.raises(ValidationError):
        checklist.answer_item(
            staff, contract, item="staff", answer="yes", checked_on=timezone.localdate()
        )
    with pytest.raises(PermissionDenied):
        checklist.answer_item(
            people[Role.WARD_AUDITOR],
            contract,
            item="C-O4",
            answer="yes",
            checked_on=timezone.localdate(),
        )
    assert AuditEntry.objects.filter(action="checklist.answered").count() == 2


@pytest.mark.parametrize(
    ("audited_on", "today", "due"),
    [
        (None, dt.date(2026, 11, 30), True),
        (dt.date(2026, 4, 1), dt.date(2027, 3, 31), False),  # first and last day of FY2026
        (dt.date(2026, 3, 31), dt.date(2026, 6, 1), True),  # FY2025's audit does not count
        (dt.date(2027, 3, 31), dt.date(2026, 6, 1), False),  # recorded later in the same FY
        (dt.date(2026, 6, 1), dt.date(2027, 4, 1), False),  # FY2027: the contract has ended
    ],
)
def test_the_missing_audit_reminder_at_the_fiscal_year_edges(contract, audited_on, today, due):
    if audited_on:
        OnSiteAudit.objects.create(
            contract=contract, audited_on=audited_on, inspector="x", findings="x"
        )
    assert audits.audit_due(contract, today) is due
    assert bool(audits.reminder_text(contract, today)) is due


def test_a_contract_running_into_the_next_fiscal_year_needs_a_new_audit(contract):
    Contract.objects.filter(pk=contract.pk).update(ends_on=dt.date(2027, 6, 30))
    contract.refresh_from_db()
    OnSiteAudit.objects.create(
        contract=contract, audited_on=dt.date(2026, 7, 1), inspector="x", findings="x"
    )
    assert not audits.audit_due(contract, dt.date(2027, 3, 31))
    assert audits.audit_due(contract, dt.date(2027, 4, 1))
    assert "令和9年度" in audits.reminder_text(contract, dt.date(2027, 4, 1))
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.DRAFT)
    contract.refresh_from_db()
    assert not audits.audit_due(contract, dt.date(2027, 4, 1))


def test_the_home_and_the_checklist_remind_the_ward_only(people, contract, client_for):
    text = "今年度の立入調査がまだ記録されていない契約があります"
    assert text in client_for(Role.WARD_STAFF).get("/").content.decode()
    assert text not in client_for(Role.MANAGER).get("/").content.decode()
    link = 'href="/compliance/checklists/"'
    assert link in client_for(Role.WARD_STAFF).get("/incidents/").content.decode()
    assert link not in client_for(Role.MANAGER).get("/incidents/").content.decode()
    page = client_for(Role.WARD_AUDITOR).get(f"/compliance/checklists/{contract.code}/")
    assert "立入調査がまだ記録されていません" in page.content.decode()
    audits.record_audit(
        people[Role.WARD_STAFF],
        contract,
        audited_on=timezone.localdate(),
        inspector="戸山 花子",
        findings="問題なし",
    )
    assert text not in client_for(Role.WARD_STAFF).get("/").content.decode()


def test_an_audit_with_follow_up_actions_and_their_completion(people, contract, client_for):
    staff = client_for(Role.WARD_STAFF)
    response = staff.post(
        f"/compliance/audits/new/{contract.code}/",
        {
            "audited_on": timezone.localdate().isoformat(),
            "inspector": "戸山 花子",
            "place": "本社",
            "findings": "タブレットの更新漏れ",
            "actions": "OS を更新する\n手順書を改める",
            "due_on": "",
        },
    )
    assert response.status_code == 302
    audit = OnSiteAudit.objects.get()
    assert [a.text for a in audit.actions.all()] == ["OS を更新する", "手順書を改める"]
    first = audit.actions.first()
    staff.post(
        f"/compliance/audits/actions/{first.pk}/complete/",
        {"completed_on": timezone.localdate().isoformat(), "note": "適用済み"},
    )
    first.refresh_from_db()
    assert first.completed_on == timezone.localdate()
    with pytest.raises(ValidationError):
        audits.complete_action(
            people[Role.WARD_STAFF], first, completed_on=timezone.localdate(), note=""
        )
    future = staff.post(
        f"/compliance/audits/new/{contract.code}/",
        {"audited_on": "2099-01-01", "inspector": "x", "findings": "x"},
    )
    assert future.status_code == 400 and OnSiteAudit.objects.count() == 1
    actions = list(
        AuditEntry.objects.filter(action__startswith="onsite_audit.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["onsite_audit.recorded", "onsite_audit.action_completed"]


def test_the_handling_report_from_the_contractors_records(people, contract, client_for):
    from genchi.compliance.models import Incident

    Incident.objects.create(
        contract=contract,
        number=1,
        side="contractor",
        kind="loss",
        found_at=timezone.now(),
        found_by="x",
        summary="x",
    )
    report = handling.handling_report(contract, contract.starts_on, timezone.localdate())
    by_heading = {s.heading: s for s in report.sections}
    assert len(by_heading["事故報告"].rows) == 1
    assert {r[0] for r in by_heading["指定された従事者"].rows} == {"取扱責任者", "取扱者", "調査員"}
    assert by_heading["訪問"].rows == [["0", "0", "0"]]
    earlier = handling.handling_report(contract, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert not {s.heading: s for s in earlier.sections}["事故報告"].rows
    with pytest.raises(ValidationError):
        handling.handling_report(contract, dt.date(2026, 5, 1), dt.date(2026, 4, 1))
    for role in (Role.MANAGER, Role.WARD_AUDITOR):
        page = client_for(role).get(
            f"/compliance/handling/{contract.code}/?since=2026-06-01&until={timezone.localdate()}"
        )
        assert page.status_code == 200 and "取扱状況報告" in page.content.decode()
    assert (
        client_for(Role.SURVEYOR).get(f"/compliance/handling/{contract.code}/").status_code == 403
    )


def test_the_sheets_print_as_pdf_with_japanese_fonts_and_as_xlsx(
    people, contract, client_for, tmp_path
):
    audit = audits.record_audit(
        people[Role.WARD_STAFF],
        contract,
        audited_on=timezone.localdate(),
        inspector="戸山 花子",
        findings="問題なし",
        actions=[("手順書を改める", None)],
    )
    client = client_for(Role.WARD_AUDITOR)
    for url in (
        f"/compliance/checklists/{contract.code}/download/pdf/",
        f"/compliance/audits/{audit.pk}/download/pdf/",
        f"/compliance/handling/{contract.code}/download/pdf/?since=2026-06-01&until=2026-11-30",
    ):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert fonts_embedded(response.content, tmp_path)
    sheet = sheets.checklist_sheet(checklist.checklist(contract))
    assert "令和8年度" in " ".join(sheet.lines)
    response = client.get(f"/compliance/checklists/{contract.code}/download/xlsx/")
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any("USBメモリ" in str(v) for v in values) and "C-O2, S8" in values
    assert client.get(f"/compliance/checklists/{contract.code}/download/doc/").status_code == 404
    printed = AuditEntry.objects.filter(action__endswith=".printed").values_list(
        "action", flat=True
    )
    assert set(printed) == {"checklist.printed", "onsite_audit.printed", "handling_report.printed"}

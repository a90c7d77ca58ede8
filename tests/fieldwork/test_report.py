"""Closing the survey (issue 15 item 6): the report (PDF, XLSX) and the result package.
Only J4/J5 items leave: every other field is filled with a marker, and none may reach the
records, the report or the package (decrypted and read back)."""

from __future__ import annotations

import json
import subprocess
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.core.commands import CommandError
from genchi.fieldwork import closing, report
from genchi.fieldwork import photos as photo_store
from genchi.fieldwork.models import SurveyCase, SurveyClosing, Visit
from genchi.fieldwork.services import assign_cases, record_visit, review_case
from genchi.package_format import open_package
from genchi.package_format.records import CONTACT_SLIPS, NAMEPLATES, TENURES
from genchi.results.models import CaseResult, ResultPhoto
from genchi.transfer import contract_keys, orgkeys, services
from tests.fieldwork import world
from tests.fieldwork.visits import photo_with_metadata, visit_data
from tests.fieldwork.world import receive

MARK = "ZQMARK"
# The J3 items as the ward sent them, each carrying the marker (they must not come back).
ROWS = [
    ("160-0022", f"東京都練馬区豊玉北五丁目1番1号{MARK}A", f"メゾン{MARK}B", f"山田{MARK}C"),
    ("170-0013", f"東京都豊島区東池袋一丁目2番3号{MARK}D", "", f"佐藤{MARK}E"),
]
LAT, LNG = "35.7351234", "139.6517654"  # the surveyor's position: never leaves


def test_every_visit_choice_has_a_result_code():
    assert {report.NAMEPLATE_CODES[c] for c in Visit.Nameplate.values} <= set(NAMEPLATES)
    assert {report.TENURE_CODES[c] for c in Visit.Tenure.values} <= set(TENURES)
    assert {report.CONTACT_SLIP_CODES[c] for c in Visit.ContactSlip.values} <= set(CONTACT_SLIPS)


def _marked_visit(**overrides):
    return visit_data(
        lat=LAT,
        lng=LNG,
        answered=True,
        interviewee="neighbour",
        interview=f"近隣の方の話{MARK}F",
        notes=f"メモ{MARK}G",
        **overrides,
    )


@pytest.fixture
def closed(people, contract, keys_exchanged):
    """Both cases visited (one sent back first, with a marked reason) and approved."""
    cases = receive(people, contract, ROWS)
    surveyor, manager = people[Role.SURVEYOR], people[Role.MANAGER]
    assign_cases(contract, [c.case_ref for c in cases], surveyor, by=manager)
    first, second = cases
    record_visit(first, _marked_visit(), [photo_with_metadata()], by=surveyor)
    review_case(first, approve=False, reason=f"再訪問{MARK}H", by=manager)
    record_visit(first, _marked_visit(), [photo_with_metadata(seed=3)], by=surveyor)
    review_case(first, approve=True, by=manager)
    record_visit(
        second,
        _marked_visit(tenure="owned", landlord_name="", landlord_phone="", outcome="not_resident"),
        by=surveyor,
    )
    review_case(second, approve=True, by=manager)
    return [SurveyCase.objects.get(pk=c.pk) for c in cases]


def _records(contract):
    return [r.record for r in report.iter_results(contract)]


def test_the_records_hold_j4_j5_items_only(closed, contract):
    records = _records(contract)
    first, second = records
    assert first["outcome"] == "resident_presumed" and first["visit_count"] == 2
    assert first["tenure"] == "rented" and first["landlord"] == "豊玉管理株式会社"
    assert first["landlord_phone"] == "03-1234-5678" and first["contact_slip"] == "posted"
    assert first["photos"] == [f"{closed[0].case_ref}/1.jpg"]  # the latest visit's photo
    assert second["outcome"] == "not_resident" and second["landlord"] == ""
    dumped = json.dumps(records, ensure_ascii=False)
    assert MARK not in dumped and LAT not in dumped and LNG not in dumped


def test_closing_is_refused_while_cases_are_not_done(people, contract, keys_exchanged, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    cases = receive(people, contract, ROWS)
    assign_cases(contract, [cases[0].case_ref], people[Role.SURVEYOR], by=people[Role.MANAGER])
    record_visit(cases[0], visit_data(), by=people[Role.SURVEYOR])
    blockers = dict(report.closing_blockers(contract))
    assert set(blockers) == {c.case_ref for c in cases}
    assert "承認" in blockers[cases[0].case_ref] and "訪問" in blockers[cases[1].case_ref]
    with pytest.raises(ValidationError, match="2 件"):
        closing.build_report(contract, tmp_path, by=people[Role.MANAGER])
    with pytest.raises(CommandError, match="締められません"):
        call_command("report", "build", "--contract", contract.code, "--out", str(tmp_path))
    with pytest.raises(CommandError, match="見つかりません"):
        call_command("report", "build", "--contract", "nope", "--out", str(tmp_path))
    assert not list(tmp_path.iterdir())


def test_report_pdf_and_xlsx_show_the_results_and_nothing_else(closed, contract, tmp_path):
    call_command("report", "build", "--contract", contract.code, "--out", str(tmp_path))
    pdf = tmp_path / f"report-{contract.code}.pdf"
    xlsx = tmp_path / f"report-{contract.code}.xlsx"
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF") and b"/FontFile2" in raw  # fonts embedded
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "調査報告書" in text and "令和" in text and closed[0].case_ref in text
    assert "居住推定" in text and "不居住" in text and "豊玉管理株式会社" in text
    assert "東京都" in text  # the count by prefecture
    assert text.count("\f") >= 3  # cover and one page per case
    assert b"/Subtype /Image" in raw or b"/Subtype/Image" in raw
    with zipfile.ZipFile(xlsx) as z:
        sheet = b"".join(z.read(n) for n in z.namelist()).decode("utf-8", "replace")
    assert "resident_presumed" in sheet and "not_resident" in sheet
    for shown in (text, sheet, raw.decode("latin-1")):
        assert MARK not in shown and LAT not in shown and LNG not in shown
        assert "練馬区豊玉北" not in shown and "山田" not in shown


def _ward_reads(path, contract, tmp_path):
    verified = open_package(
        path,
        sender_key=orgkeys.partner_card(contract.ward, contract.contractor),
        expected_contract=contract.code,
        expected_recipient=contract.ward.code,
        identity=contract_keys.identities_for(contract, contract.ward),
        already_imported=lambda _package_id: False,
    )
    contents = verified.read_all(tmp_path / "extracted")
    return verified, contents


def test_the_result_package_carries_the_results_and_the_ward_imports_it(
    closed, contract, people, tmp_path
):
    out = tmp_path / "out"
    out.mkdir()
    call_command(
        "report", "return", "--contract", contract.code, "--out", str(out),
        "--user", people[Role.MANAGER].username,
    )  # fmt: skip
    (path,) = [p for p in out.iterdir() if p.is_file()]
    verified, contents = _ward_reads(path, contract, tmp_path)
    dumped = json.dumps(contents.records, ensure_ascii=False) + verified.manifest_bytes.decode()
    assert MARK not in dumped and LAT not in dumped and LNG not in dumped
    assert "山田" not in dumped and "練馬区" not in dumped
    assert [p.name for p in contents.photos] == [f"photos/{closed[0].case_ref}/1.jpg"]
    photo_bytes = contents.photos[0].path.read_bytes()
    assert b"GenchiCam" not in photo_bytes and MARK.encode() not in photo_bytes
    assert set(SurveyCase.objects.values_list("status", flat=True)) == {"reported"}
    with pytest.raises(ValidationError, match="返却済み"):
        closing.return_results(contract, out, by=people[Role.MANAGER])
    # The ward imports it: every case reconciled, the photo kept.
    result = services.receive_package(path, kind="results", by=people[Role.WARD_STAFF])
    assert result.created == len(closed) == CaseResult.objects.count()
    assert ResultPhoto.objects.count() == 1
    outcomes = set(CaseResult.objects.values_list("outcome", flat=True))
    assert outcomes == {"resident_presumed", "not_resident"}


def test_the_manager_closes_on_the_page_as_a_job_and_downloads_report_and_package(
    closed, contract, people, client_for
):
    url = f"/fieldwork/close/{contract.code}/"
    assert client_for(Role.HANDLER).get(url).status_code == 403
    manager = client_for(Role.MANAGER)
    page = manager.get(url)
    assert page.status_code == 200 and "調査を締めて" in page.content.decode()
    assert manager.post(url + "start/").status_code == 302
    run = SurveyClosing.objects.get()
    assert run.job_state == "succeeded", run.job_message
    assert run.case_count == 2 and len(run.packages) == 1
    stored = photo_store.storage().open(run.report_pdf, "rb").read()
    assert b"%PDF" not in stored  # kept encrypted
    html = manager.get(url).content.decode()
    slip_url = f"/handover/slips/{run.packages[0]['slip']}/"
    assert slip_url in html
    pdf = manager.get(f"{url}{run.pk}/report.pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert AuditEntry.objects.filter(action="fieldwork.report_downloaded").exists()
    package = manager.get(f"/handover/packages/{run.packages[0]['package']}/download/")
    assert package.status_code == 200
    assert set(SurveyCase.objects.values_list("status", flat=True)) == {"reported"}


def test_the_close_page_names_the_cases_that_block(people, contract, keys_exchanged, client_for):
    cases = receive(people, contract, ROWS)
    url = f"/fieldwork/close/{contract.code}/"
    html = client_for(Role.MANAGER).get(url).content.decode()
    assert cases[0].case_ref in html and "まだ訪問していません" in html
    response = client_for(Role.MANAGER).post(url + "start/", follow=True)
    assert "締められません" in response.content.decode()
    assert not SurveyClosing.objects.exists()


def test_the_close_page_counts_reasons_and_lists_only_the_first_cases(
    people, contract, keys_exchanged, client_for, monkeypatch
):
    """Hundreds of open cases at first: reasons with counts, then the first few cases and
    a link to the case list for the rest."""
    from genchi.fieldwork import closing_views

    monkeypatch.setattr(closing_views, "BLOCKERS_LISTED", 2)
    cases = receive(people, contract, world.ROWS)
    assert len(cases) == 4
    html = client_for(Role.MANAGER).get(f"/fieldwork/close/{contract.code}/").content.decode()
    assert f'<td class="num">{len(cases)}</td>' in html  # one reason, every case
    listed = [c.case_ref for c in cases if f">{c.case_ref}</a>" in html]
    assert len(listed) == 2
    assert f"ほか {len(cases) - 2} 件は" in html
    assert f"/fieldwork/cases/?contract={contract.code}" in html


def test_one_received_package_may_be_returned_before_the_others(
    people, contract, keys_exchanged, tmp_path
):
    first = receive(people, contract, ROWS[:1])
    receive(people, contract, ROWS[1:], number=2)
    manager = people[Role.MANAGER]
    assign_cases(contract, [first[0].case_ref], people[Role.SURVEYOR], by=manager)
    record_visit(first[0], visit_data(), by=people[Role.SURVEYOR])
    review_case(first[0], approve=True, by=manager)
    package_id = str(SurveyCase.objects.get(pk=first[0].pk).received_in.package_id)
    with pytest.raises(ValidationError, match="1 件"):
        closing.return_results(contract, tmp_path, by=manager)  # the second is not done
    (returned,) = closing.return_results(contract, tmp_path, by=manager, package_id=package_id)
    assert returned.answers == package_id and returned.cases == 1
    statuses = dict(SurveyCase.objects.values_list("case_ref", "status"))
    assert sorted(statuses.values()) == ["received", "reported"]

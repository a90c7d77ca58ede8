"""Issue 13, items 7 and 9 and the handover's small items: both slips of a handover carry
the time the stick changed hands; each side's slip is headed with its own name; a sealed
batch leads to its export and a finished export to its slip and the ledger; the forms
say things where and as a person expects."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.transfer import services
from genchi.transfer.models import HandoverSlip
from genchi.transfer.refusals import Refused
from genchi.transfer.slip_docs import slip_pdf
from tests.transfer.handover_world import make_cases, make_sealed_batch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def _pdf_text(data: bytes, tmp_path, name: str) -> str:
    (tmp_path / name).write_bytes(data)
    return subprocess.run(
        ["pdftotext", str(tmp_path / name), "-"], capture_output=True, text=True
    ).stdout


def test_both_slips_carry_the_handover_time(exported, people, tmp_path):
    staff, manager = people[Role.WARD_STAFF], people[Role.MANAGER]
    ward_slip = exported.slip
    assert ward_slip.handed_at is None  # written, not yet handed over
    handed = timezone.localtime().replace(second=0, microsecond=0) - dt.timedelta(minutes=0)
    services.mark_received(ward_slip, receiver_name="高田 誠", handed_at=handed, by=staff)
    # Imported a while later, without typing the time: recorded provisionally as now…
    imported = services.import_cases_package(exported.path, by=manager)
    contractor_slip = imported.slip
    # …and the time on the ward's paper slip becomes the contractor's on confirmation.
    HandoverSlip.objects.filter(pk=contractor_slip.pk).update(
        handed_at=handed + dt.timedelta(hours=2)
    )
    contractor_slip.refresh_from_db()
    services.confirm_slip(
        contractor_slip, code=contractor_slip.qr_text, record_count=3, handed_at=handed, by=manager
    )
    contractor_slip.refresh_from_db()
    ward_slip.refresh_from_db()
    assert contractor_slip.handed_at == ward_slip.handed_at == handed
    entry = AuditEntry.objects.filter(action="slip.confirmed").latest("id")
    assert entry.detail["handed_at_corrected_from"]  # the provisional time, logged
    # The giver's record is the reference: another time is refused, at its field.
    with pytest.raises(Refused) as refused:
        services.confirm_slip(
            ward_slip,
            code=ward_slip.qr_text,
            record_count=3,
            handed_at=handed + dt.timedelta(minutes=5),
            by=staff,
        )
    assert refused.value.code == "handed_at_mismatch"
    services.confirm_slip(
        ward_slip, code=ward_slip.qr_text, record_count=3, handed_at=handed, by=staff
    )
    if shutil.which("pdftotext"):
        ward_text = _pdf_text(slip_pdf(ward_slip), tmp_path, "w.pdf")
        firm_text = _pdf_text(slip_pdf(contractor_slip), tmp_path, "c.pdf")
        when = handed.strftime("%-H時%M分")
        assert when in ward_text and when in firm_text
        # Each side's slip is headed with its own name.
        ward_head = ward_text.split("受け渡し票\n", 1)[0]
        firm_head = firm_text.split("受け渡し票\n", 1)[0]
        assert "新宿区 税務課" in ward_head and "テストサービサー" not in ward_head
        assert "テストサービサー株式会社" in firm_head and "新宿区" not in firm_head
        for text in (ward_text, firm_text):  # control ids stay in docs/controls.md
            assert "C-O8" not in text and "W-O6" not in text


def test_the_handover_time_cannot_be_in_the_future(exported, people):
    with pytest.raises(Refused) as refused:
        services.mark_received(
            exported.slip,
            receiver_name="高田 誠",
            handed_at=timezone.now() + dt.timedelta(days=1),
            by=people[Role.WARD_STAFF],
        )
    assert refused.value.code == "bad_handed_at"


def test_an_unhanded_slip_prints_a_blank_for_the_time(exported, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed")
    text = _pdf_text(slip_pdf(exported.slip), tmp_path, "s.pdf")
    assert "手渡しの時に記入" in text


def test_a_sealed_batch_leads_to_its_export(contract, keys_exchanged, people, client_for, stick):
    first = make_sealed_batch(contract, make_cases(contract), by=people[Role.WARD_STAFF])
    second = make_sealed_batch(
        contract,
        make_cases(contract, rows=[("100-0001", "東京都千代田区1", "", "試験 二郎")]),
        number=2,
    )
    staff = client_for(Role.WARD_STAFF)
    page = staff.get(f"/batches/{second.pk}/").content.decode()
    assert f'href="/handover/export/?batch={second.pk}"' in page
    auditor = client_for(Role.WARD_AUDITOR).get(f"/batches/{second.pk}/").content.decode()
    assert "/handover/export/" not in auditor  # the auditor cannot export
    form = staff.get(f"/handover/export/?batch={second.pk}").content.decode()
    selected = form.split('name="batch"', 1)[1].split("</select>", 1)[0]
    assert f'value="{second.pk}" selected' in selected
    assert f'value="{first.pk}" selected' not in selected
    # Title and count, not the code alone; no dashes line.
    assert "第1回 — 3 件" in selected and "---------" not in selected


def test_one_batch_and_one_stick_need_no_choosing(sealed_batch, stick, client_for):
    form = client_for(Role.WARD_STAFF).get("/handover/export/").content.decode()
    for name in ("batch", "stick"):
        menu = form.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        assert menu.count("<option") == 1 and "---------" not in menu


def test_the_wipe_form_starts_on_the_recommended_method(stick, client_for):
    page = client_for(Role.WARD_STAFF).get(f"/usb/{stick.pk}/").content.decode()
    menu = page.split('name="wipe-method"', 1)[1].split("</select>", 1)[0]
    assert 'value="secure_erase" selected' in menu


def test_a_wrong_file_is_named_in_the_users_words(keys_exchanged, client_for, tmp_path):
    from genchi.transfer.models import HandoverJob

    (tmp_path / "notes.txt").write_text("これはパッケージではありません")
    with open(tmp_path / "notes.txt", "rb") as fh:
        response = client_for(Role.MANAGER).post("/handover/import/", {"package": fh})
    page = client_for(Role.MANAGER).get(response["Location"]).content.decode()
    assert "Genchi の引渡パッケージではないか、ファイルが壊れています" in page
    assert "age 形式" not in page
    assert HandoverJob.objects.get().job_outcome


def test_no_control_ids_on_the_handover_pages(exported, stick, client_for):
    staff = client_for(Role.WARD_STAFF)
    for url in ("/handover/", "/handover/export/", "/usb/", f"/usb/{stick.pk}/",
                f"/handover/slips/{exported.slip.pk}/"):  # fmt: skip
        page = staff.get(url).content.decode()
        for control in ("(J3)", "(C-O8)", "(W-O4", "(W-O6)"):
            assert control not in page, (url, control)
    listing = staff.get("/handover/").content.decode()
    assert "令和8年度 居住実態調査" in listing and "<td>c2026</td>" not in listing

"""The handover pages: ward export to the stick folder, contractor upload, slips, ledger."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.fieldwork.models import SurveyCase
from genchi.jobs.models import JobState
from genchi.parties import services as party_services
from genchi.parties.models import Organisation
from genchi.transfer import services
from genchi.transfer.models import (
    HandoverJob,
    HandoverSlip,
    Package,
    PartnerKeyCard,
    StickEvent,
    UsbStick,
)
from tests.transfer.handover_world import tampered_export


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def test_export_import_confirm_through_the_pages(sealed_batch, lent_stick, client_for, tmp_path):
    """On a server: the export is kept for download; the downloaded bytes are what the
    page's digest says, and the contractor's import page takes them unchanged."""
    ward = client_for(Role.WARD_STAFF)
    response = ward.get("/handover/")
    assert response.status_code == 200 and "書き出し待ち" in response.content.decode()
    response = ward.post("/handover/export/", {"batch": sealed_batch.pk, "stick": lent_stick.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    ward_slip = HandoverSlip.objects.get(holder=lent_stick.owner)
    package = ward_slip.package
    assert package.delivery == Package.Delivery.DOWNLOAD
    assert not services.usb_folder(lent_stick).exists()  # nothing pretends to be the stick
    page = ward.get(response["Location"]).content.decode()
    assert "まだUSBメモリには入っていません" in page and "USB-01" in page
    assert package.filename in page and package.file_sha256 in page
    assert f"/handover/packages/{package.pk}/download/" in page
    assert f"/handover/slips/{ward_slip.pk}/" in page and f"/usb/{lent_stick.pk}/" in page
    download = ward.get(f"/handover/packages/{package.pk}/download/")
    assert download.status_code == 200
    assert package.filename in download["Content-Disposition"]
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == package.file_sha256
    assert len(data) == package.size
    path = tmp_path / package.filename
    path.write_bytes(data)
    pdf = ward.get(f"/handover/slips/{ward_slip.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # The stick changes hands: the ward records when (the time both slips will carry).
    handed = timezone.localtime().replace(second=0, microsecond=0)
    when = handed.strftime("%Y-%m-%dT%H:%M")
    response = ward.post(
        f"/handover/slips/{ward_slip.pk}/receive/",
        {"receive-receiver_name": "高田 誠", "receive-handed_at": when},
    )
    assert response.status_code == 302

    manager = client_for(Role.MANAGER)
    with open(path, "rb") as fh:
        response = manager.post(
            "/handover/import/", {"package": fh, "giver_name": "戸山 花子", "handed_at": ""}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert SurveyCase.objects.count() == 3
    slip = HandoverSlip.objects.exclude(pk=ward_slip.pk).get()
    assert slip.state == HandoverSlip.State.RECEIVED
    # The manager cannot see the ward's slip: each side sees its own.
    assert manager.get(f"/handover/slips/{ward_slip.pk}/").status_code == 404
    form = {
        "confirm-code": slip.qr_text,
        "confirm-record_count": "3",
        "confirm-handed_at": when,  # as printed on the ward's slip
        "confirm-checked_handler": "on",
        "confirm-checked_content": "on",
        "confirm-checked_count": "on",
    }
    wrong = manager.post(
        f"/handover/slips/{slip.pk}/confirm/", {**form, "confirm-record_count": "4"}
    ).content.decode()
    # Said at the count field (right after it), not at the top of the page.
    after_count = wrong.split('name="confirm-record_count"', 1)[1].split("<label", 1)[0]
    assert "入力された件数 (4 件) が記録 (3 件) と一致しません" in after_count
    assert "一致しません" not in wrong.split('name="confirm-record_count"', 1)[0]
    assert manager.post(f"/handover/slips/{slip.pk}/confirm/", form).status_code == 302
    slip.refresh_from_db()
    assert slip.state == HandoverSlip.State.CONFIRMED

    # Replay through the page: refused with the reason, nothing more stored.
    with open(path, "rb") as fh:
        response = manager.post("/handover/import/", {"package": fh}, follow=True)
    assert response.status_code == 200
    assert "既に取り込まれています" in response.content.decode()
    assert SurveyCase.objects.count() == 3
    job = HandoverJob.objects.filter(direction=HandoverJob.Direction.IMPORT).latest("id")
    assert job.job_state == JobState.REFUSED and job.job_outcome == "replayed"

    # Ward: the sealed slip came back.
    ward.post(
        f"/handover/slips/{ward_slip.pk}/confirm/", {**form, "confirm-code": ward_slip.qr_text}
    )
    ward_slip.refresh_from_db()
    assert ward_slip.state == HandoverSlip.State.CONFIRMED
    # Both slips carry the time the stick changed hands.
    assert ward_slip.handed_at == slip.handed_at == handed
    # Confirmed: the server's copy is gone, and the download with it.
    assert not services.server_copy(package).exists()
    assert ward.get(f"/handover/packages/{package.pk}/download/").status_code == 302
    assert "削除されました" in ward.get(f"/handover/slips/{ward_slip.pk}/").content.decode()


def test_tampered_upload_is_refused(sealed_batch, stick, client_for, tmp_path, people):
    path = tampered_export(sealed_batch, tmp_path / "o", by=people[Role.WARD_STAFF])
    with open(path, "rb") as fh:
        response = client_for(Role.HANDLER).post("/handover/import/", {"package": fh})
    job = HandoverJob.objects.get()
    assert response["Location"] == f"/handover/jobs/{job.pk}/"
    page = client_for(Role.HANDLER).get(response["Location"]).content.decode()
    assert "改ざん" in page or "壊れて" in page
    assert job.job_state == JobState.REFUSED and job.job_outcome
    assert SurveyCase.objects.count() == 0
    assert not list((tmp_path / "data" / "jobs").glob("*"))  # the upload was removed


def test_usb_ledger_pages(client_for, contractor):
    ward = client_for(Role.WARD_STAFF)
    response = ward.post(
        "/usb/register/",
        {"label": "USB-09", "serial": "SN9", "capacity_gb": "16", "model_name": ""},
    )
    assert response.status_code == 302
    stick = UsbStick.objects.get(label="USB-09")
    due = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    ward.post(
        f"/usb/{stick.pk}/lend/",
        {
            "lend-borrower_name": "高田 誠",
            "lend-borrower_org": contractor.pk,
            "lend-due_on": due,
        },
    )
    stick.refresh_from_db()
    assert stick.status == UsbStick.Status.LENT
    page = ward.get("/usb/").content.decode()
    assert "高田 誠" in page
    ward.post(f"/usb/{stick.pk}/return/", {"return-returned_by_name": "高田 誠"})
    ward.post(f"/usb/{stick.pk}/inspect/", {"inspect-result": "ok", "inspect-note": ""})
    folder = services.usb_folder(stick)
    folder.mkdir(parents=True)
    (folder / "genchi-cases-a.genchi.age").write_bytes(b"x" * 100)
    ward.post(
        f"/usb/{stick.pk}/wipe/", {"wipe-method": "secure_erase", "wipe-performed_by": "戸山"}
    )
    assert not list(folder.iterdir())
    assert StickEvent.objects.filter(stick=stick, kind="wiped", method="secure_erase").exists()
    assert ward.get("/usb/ledger.pdf").content.startswith(b"%PDF")
    assert ward.get("/usb/ledger.xlsx").status_code == 200

    auditor = client_for(Role.WARD_AUDITOR)
    assert auditor.get(f"/usb/{stick.pk}/").status_code == 200
    assert auditor.post(f"/usb/{stick.pk}/inspect/", {"inspect-result": "ng"}).status_code == 403
    assert client_for(Role.SURVEYOR).get("/usb/").status_code == 403
    assert client_for(Role.MANAGER).get("/usb/").status_code == 403


def test_keys_page_create_and_import(client_for, ward, contractor):
    admin = client_for(Role.WARD_ADMIN)
    assert admin.post("/handover/keys/create/").status_code == 302
    manager = client_for(Role.MANAGER)
    assert manager.post("/handover/keys/create/").status_code == 302
    card = admin.get("/handover/keys/card.json")
    assert card.status_code == 200
    import json

    fingerprint = json.loads(card.content)["signing"]["fingerprint"]
    response = manager.post(
        "/handover/keys/cards/",
        {"card-card_text": card.content.decode(), "card-fingerprint": "AAAA"},
    )
    assert "一致しません" in response.content.decode()
    response = manager.post(
        "/handover/keys/cards/",
        {
            "card-card_text": card.content.decode(),
            "card-fingerprint": fingerprint,
        },
    )
    assert response.status_code == 302
    assert PartnerKeyCard.objects.filter(holder=contractor, subject=ward).exists()
    page = manager.get("/handover/keys/").content.decode()
    assert "<svg" in page and fingerprint in page
    assert client_for(Role.HANDLER).post("/handover/keys/create/").status_code == 403


def test_lending_offers_only_contractors_under_contract_with_this_ward(
    client_for, contractor, stick
):
    """A stick goes only to a contractor the ward has an open contract with: the form
    lists no other organisation, and a forged choice is refused with nothing recorded."""
    stranger = party_services.create_organisation(
        code="other-servicer", name="別の事業者株式会社", kind=Organisation.Kind.CONTRACTOR
    )
    ward = client_for(Role.WARD_STAFF)
    page = ward.get(f"/usb/{stick.pk}/").content.decode()
    assert "テストサービサー株式会社" in page and "別の事業者株式会社" not in page
    due = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = ward.post(
        f"/usb/{stick.pk}/lend/",
        {
            "lend-borrower_name": "山田 一郎",
            "lend-borrower_org": stranger.pk,
            "lend-due_on": due,
        },
    )
    assert response.status_code == 200
    assert "正しく選択してください" in response.content.decode()
    stick.refresh_from_db()
    assert stick.status != UsbStick.Status.LENT and not stick.loans.exists()


def test_export_page_offers_only_sticks_that_can_take_a_package(
    sealed_batch, stick, people, ward, client_for
):
    """A stick awaiting its wipe is not offered (it is named, with a link to record the
    wipe), nor a retired one; once the wipe is recorded it is offered again."""
    from genchi.transfer import ledger

    retired = ledger.register_stick(
        ward, label="USB-09", serial="SN-0009", capacity_gb=8, by=people[Role.WARD_ADMIN]
    )
    UsbStick.objects.filter(pk=retired.pk).update(status=UsbStick.Status.RETIRED)
    UsbStick.objects.filter(pk=stick.pk).update(needs_wipe=True)
    staff = client_for(Role.WARD_STAFF)
    page = staff.get("/handover/export/").content.decode()
    assert "消去待ちのUSBメモリ" in page and f"/usb/{stick.pk}/" in page
    assert "書き込めるUSBメモリがありません" in page
    assert "書き出して受け渡し票を発行する" not in page
    refused = staff.post("/handover/export/", {"batch": sealed_batch.pk, "stick": stick.pk})
    assert refused.status_code == 200 and not list(services.usb_folder(stick).glob("*"))

    UsbStick.objects.filter(pk=stick.pk).update(needs_wipe=False)
    page = staff.get("/handover/export/").content.decode()
    assert "消去待ち" not in page
    assert f'<option value="{stick.pk}" selected>' in page  # the only one: preselected
    assert f'<option value="{retired.pk}"' not in page


def test_stick_written_and_not_yet_lent_is_shown_awaiting_handover(
    sealed_batch, stick, people, client_for
):
    """After writing, the stick is not "awaiting its wipe" but awaiting handover: the
    export page and the ledger say so, and its page offers the loan naming the package."""
    staff = client_for(Role.WARD_STAFF)
    response = staff.post("/handover/export/", {"batch": sealed_batch.pk, "stick": stick.pk})
    assert response.status_code == 302
    package = Package.objects.get(
        batch_code=f"B{sealed_batch.number}", direction=Package.Direction.OUTGOING
    )
    export_page = staff.get("/handover/export/").content.decode()
    assert "受け渡し待ちのUSBメモリ" in export_page and "消去待ちのUSBメモリ" not in export_page
    ledger_page = staff.get("/usb/").content.decode()
    assert "受け渡し待ち" in ledger_page and "消去待ち" not in ledger_page
    detail = staff.get(f"/usb/{stick.pk}/").content.decode()
    assert "書き込み済みのパッケージをこの貸出に記録します" in detail
    assert package.short_id in detail


def test_export_page_preselects_the_only_batch_and_stick(sealed_batch, stick, client_for):
    page = client_for(Role.WARD_STAFF).get("/handover/export/").content.decode()
    assert f'<option value="{sealed_batch.pk}" selected>' in page
    assert f'<option value="{stick.pk}" selected>' in page


def test_export_page_says_when_no_batch_is_sealed(stick, client_for):
    page = client_for(Role.WARD_STAFF).get("/handover/export/").content.decode()
    assert "封緘済みで未送付のバッチはありません" in page
    assert "/batches/" in page
    assert "書き出して受け渡し票を発行する" not in page


def test_contractor_list_names_the_stick_the_package_came_on(
    sealed_batch, lent_stick, people, client_for, tmp_path
):
    """The contractor holds no ledger of the ward's sticks; the label typed at import
    (on the slip) is what its package list shows."""
    out = tmp_path / "stick"
    out.mkdir()
    exported = services.export_batch(
        sealed_batch, out, by=people[Role.WARD_STAFF], stick=lent_stick
    )
    services.import_cases_package(exported.path, by=people[Role.MANAGER], stick_label="USB-01")
    page = client_for(Role.MANAGER).get("/handover/").content.decode()
    row = page.split("受領", 1)[1].split("</tr>", 1)[0]
    assert "USB-01" in row


def test_an_export_waits_for_the_worker_and_polls_its_row(
    sealed_batch, lent_stick, client_for, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    staff = client_for(Role.WARD_STAFF)
    response = staff.post("/handover/export/", {"batch": sealed_batch.pk, "stick": lent_stick.pk})
    job = HandoverJob.objects.get()
    assert response["Location"] == f"/handover/jobs/{job.pk}/"
    assert job.job_state == JobState.QUEUED and job.contract == sealed_batch.contract
    page = staff.get(response["Location"]).content.decode()
    assert "順番を待っています" in page and f"/handover/jobs/{job.pk}/progress/" in page
    assert staff.get(f"/handover/jobs/{job.pk}/progress/").status_code == 200
    # Another organisation's people do not see it.
    assert client_for(Role.MANAGER).get(f"/handover/jobs/{job.pk}/").status_code == 404


def test_an_interrupted_export_is_started_again_with_one_click(
    sealed_batch, lent_stick, client_for, settings
):
    """The worker died while writing: the page says so, nothing was recorded, and the
    restart writes the package (here into the stick's folder: Genchi on the officer's
    PC) and its page says where, with the slip."""
    settings.GENCHI_STICK_MOUNTED_HERE = True
    staff = client_for(Role.WARD_STAFF)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    passphrase = "correct horse battery"
    staff.post(
        "/handover/export/",
        {
            "batch": sealed_batch.pk,
            "stick": lent_stick.pk,
            "passphrase": passphrase,
            "passphrase2": passphrase,
        },
    )
    job = HandoverJob.objects.get()
    # Kept for the worker only encrypted (under the organisation's own key), never in clear.
    assert job.passphrase_encrypted and passphrase.encode() not in bytes(job.passphrase_encrypted)
    HandoverJob.objects.filter(pk=job.pk).update(
        job_state=JobState.RUNNING,
        job_heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )
    page = staff.get(f"/handover/jobs/{job.pk}/").content.decode()
    assert "処理が中断されました" in page and "もう一度実行する" in page
    assert Package.objects.count() == 0

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    response = staff.post(f"/handover/jobs/{job.pk}/restart/")
    job.refresh_from_db()
    assert job.job_state == JobState.SUCCEEDED and job.package.passphrase_protected
    assert bytes(job.passphrase_encrypted) == b"" and job.slip is not None
    page = staff.get(response["Location"]).content.decode()
    assert f"/handover/slips/{job.slip_id}/" in page
    assert "データフォルダの usb/shinjuku-tax/USB-01/" in page and "書き込みました" in page
    assert str(settings.DATA_DIR) not in page  # never the machine's own path
    assert "/download/" not in page
    assert job.package.delivery == Package.Delivery.FOLDER
    assert [p.name for p in services.usb_folder(lent_stick).iterdir()] == [job.package.filename]


def test_staged_packages_left_by_a_killed_export_are_settled(sealed_batch, stick, people, tmp_path):
    """Killed after its row was committed but before the move: the file is moved out.
    Killed before: the file has no row and is removed."""
    from genchi.transfer.services import outgoing

    out = tmp_path / "out"
    out.mkdir()
    result = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    staging = out / outgoing.STAGING
    staging.mkdir()
    result.path.rename(staging / result.path.name)  # as if killed before the move
    (staging / "genchi-cases-unrecorded.genchi.age").write_bytes(b"half")
    (staging / ".genchi-cases-x.genchi.age.1234.part").write_bytes(b"half")
    assert outgoing.settle_staged(out) == 0  # young files may belong to a running export
    assert outgoing.settle_staged(out, min_age=0) == 3
    assert [p.name for p in out.iterdir()] == [result.path.name]

"""Issue 13, item 2: on a server the export is a download to save onto the stick.

The page names the file, its size and SHA-256; the download is logged, counted and put in
the ledger for its stick each time; only the ward's writers of that contract may take
it; it stays downloadable until the handover is confirmed, when the server's copy is
overwritten and deleted. Genchi on the officer's PC may still write into the stick's
folder, and the page, the log, the ledger and the slip say which happened.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from django.utils import translation

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.transfer import ledger, ledger_text, services
from genchi.transfer.models import HandoverSlip, Package, StickEvent
from genchi.transfer.slip_docs import slip_pdf


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def downloadable(sealed_batch, lent_stick, client_for) -> Package:
    """The page's export on a server: kept for download for the lent stick."""
    response = client_for(Role.WARD_STAFF).post(
        "/handover/export/", {"batch": sealed_batch.pk, "stick": lent_stick.pk}
    )
    assert response.status_code == 302
    return Package.objects.get(direction=Package.Direction.OUTGOING)


def _download(client, package: Package):
    return client.get(f"/handover/packages/{package.pk}/download/")


def test_each_download_is_logged_counted_and_in_the_ledger(downloadable, client_for, people):
    package = downloadable
    assert package.delivery == Package.Delivery.DOWNLOAD
    assert services.server_copy(package).is_file()
    written = StickEvent.objects.get(kind=StickEvent.Kind.PACKAGE_WRITTEN)
    assert written.text_code == ledger_text.WRITTEN_DOWNLOAD
    assert "保存するためのダウンロードとして用意" in written.text
    assert package.short_id in written.text and package.digest[:12] in written.text
    exported = AuditEntry.objects.get(action="package.exported")
    assert exported.detail["delivery"] == "download" and exported.detail["folder"] == ""

    for n, role in enumerate((Role.WARD_STAFF, Role.WARD_ADMIN), 1):
        response = _download(client_for(role), package)
        assert response.status_code == 200
        data = b"".join(response.streaming_content)
        assert hashlib.sha256(data).hexdigest() == package.file_sha256
        package.refresh_from_db()
        assert package.download_count == n and package.last_downloaded_by == people[role]
    entries = AuditEntry.objects.filter(action="package.downloaded").order_by("id")
    assert [e.detail["n"] for e in entries] == [1, 2]
    assert entries[1].detail["by"] == people[Role.WARD_ADMIN].full_name
    lines = StickEvent.objects.filter(kind=StickEvent.Kind.PACKAGE_DOWNLOADED).order_by("id")
    assert [e.text_params["n"] for e in lines] == [1, 2]
    assert "USBメモリ USB-01 に保存するためダウンロード(2 回目)" in lines[1].text
    page = client_for(Role.WARD_STAFF).get(f"/usb/{package.stick_id}/").content.decode()
    assert "ダウンロード(2 回目)" in page
    assert str(services.download_folder(package.holder)) not in page  # no machine path


def test_only_the_wards_writers_may_download(downloadable, client_for):
    assert _download(client_for(Role.WARD_AUDITOR), downloadable).status_code == 403
    assert _download(client_for(Role.SURVEYOR), downloadable).status_code == 403
    # The contractor's office downloads its own result packages only: not the ward's.
    for role in (Role.MANAGER, Role.HANDLER):
        assert _download(client_for(role), downloadable).status_code == 404
    assert not AuditEntry.objects.filter(action="package.downloaded").exists()


def test_another_wards_staff_cannot_reach_it(downloadable, client_for):
    from genchi.parties import services as parties
    from genchi.parties.models import Organisation
    from tests.conftest import make_person, signed_in_client

    other = parties.create_organisation(
        code="other-ward", name="別の区", kind=Organisation.Kind.WARD, home_city="東京都"
    )
    stranger = signed_in_client(make_person("other-staff", other, Role.WARD_STAFF))
    assert _download(stranger, downloadable).status_code == 404


def test_downloadable_until_the_handover_is_confirmed(downloadable, client_for, people, tmp_path):
    staff = client_for(Role.WARD_STAFF)
    data = b"".join(_download(staff, downloadable).streaming_content)
    # The contractor imports the downloaded bytes unchanged.
    path = tmp_path / downloadable.filename
    path.write_bytes(data)
    imported = services.import_cases_package(path, by=people[Role.MANAGER])
    assert imported.created == 3
    # Both sides' slips name the same file by its SHA-256.
    assert imported.package.file_sha256 == downloadable.file_sha256
    page = client_for(Role.MANAGER).get(f"/handover/slips/{imported.slip.pk}/").content.decode()
    assert downloadable.file_sha256 in page
    slip = downloadable.slip
    services.mark_received(slip, receiver_name="高田 誠", by=people[Role.WARD_STAFF])
    assert _download(staff, downloadable).status_code == 200  # not yet confirmed
    services.confirm_slip(
        slip,
        code=slip.qr_text,
        record_count=3,
        handed_at=HandoverSlip.objects.get(pk=slip.pk).handed_at,
        by=people[Role.WARD_STAFF],
    )
    assert not services.server_copy(downloadable).exists()
    downloadable.refresh_from_db()
    assert downloadable.server_copy_removed_at is not None
    response = _download(staff, downloadable)
    assert response.status_code == 302 and response["Location"] == f"/handover/slips/{slip.pk}/"
    page = staff.get(response["Location"]).content.decode()
    assert "もうダウンロードできません" in page and "/download/" not in page
    assert AuditEntry.objects.filter(action="package.download_refused").count() == 1
    assert AuditEntry.objects.filter(action="package.server_copy_removed").count() == 1


def test_genchi_on_the_pc_writes_into_the_sticks_folder_and_says_so(
    sealed_batch, lent_stick, client_for, settings
):
    settings.GENCHI_STICK_MOUNTED_HERE = True
    staff = client_for(Role.WARD_STAFF)
    form = staff.get("/handover/export/").content.decode()
    assert 'name="delivery"' in form
    response = staff.post(
        "/handover/export/",
        {"batch": sealed_batch.pk, "stick": lent_stick.pk, "delivery": "folder"},
    )
    package = Package.objects.get(direction=Package.Direction.OUTGOING)
    assert package.delivery == Package.Delivery.FOLDER
    [path] = services.usb_folder(lent_stick).glob("*.genchi.age")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == package.file_sha256
    page = staff.get(response["Location"]).content.decode()
    assert "データフォルダの usb/shinjuku-tax/USB-01/" in page and "/download/" not in page
    entry = AuditEntry.objects.get(action="package.exported")
    assert entry.detail["delivery"] == "folder"
    assert entry.detail["folder"] == "usb/shinjuku-tax/USB-01/"
    written = StickEvent.objects.get(kind=StickEvent.Kind.PACKAGE_WRITTEN)
    assert "この機器に接続した USBメモリ USB-01 に書き込み" in written.text
    # A folder package is never served as a download.
    response = _download(staff, package)
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="package.downloaded").exists()


def test_on_a_server_the_form_offers_no_folder(sealed_batch, lent_stick, client_for):
    page = client_for(Role.WARD_STAFF).get("/handover/export/").content.decode()
    assert 'name="delivery"' not in page and "次の画面でダウンロード" in page
    # Even a posted "folder" is not taken: the field does not exist on a server.
    client_for(Role.WARD_STAFF).post(
        "/handover/export/",
        {"batch": sealed_batch.pk, "stick": lent_stick.pk, "delivery": "folder"},
    )
    assert Package.objects.get().delivery == Package.Delivery.DOWNLOAD


def test_the_slip_and_the_ledger_say_the_same_about_the_stick(downloadable, ward, tmp_path):
    slip = downloadable.slip
    from genchi.transfer.slip_docs import stick_line

    assert stick_line(slip) == "USB-01(ダウンロードしたファイルを保存)"
    if shutil.which("pdftotext"):
        (tmp_path / "s.pdf").write_bytes(slip_pdf(slip))
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert "ダウンロードしたファイルを保存" in text
        assert downloadable.file_sha256[:32] in text
        assert str(tmp_path) not in text
    [row] = ledger.ledger_rows(ward)
    with translation.override("en"):
        written = StickEvent.objects.get(kind=StickEvent.Kind.PACKAGE_WRITTEN)
        assert "prepared as a download to be saved onto USB stick USB-01" in written.text

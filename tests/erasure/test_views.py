"""The closing pages: the manager's erasure (start, witness, run, certificate) and the
ward's certificates page (the witness code, the import that closes the contract)."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from genchi.accounts.models import Role
from genchi.erasure.models import Erasure
from genchi.parties.models import Contract
from genchi.transfer.models import Package
from genchi.transfer.services import server_copy
from tests.conftest import current_code
from tests.erasure.world import survey_to_the_end


def test_the_manager_is_told_why_erasure_must_wait(client_for, contract, keys_exchanged):
    manager = client_for(Role.MANAGER)
    page = manager.get(f"/closing/erasure/{contract.code}/").content.decode()
    assert "この契約の調査対象者データを受け取っていません" in page
    response = manager.post(f"/closing/erasure/{contract.code}/start/")
    assert response.status_code == 400
    assert not Erasure.objects.exists()


def test_erasure_with_the_ward_present_across_the_pages(
    client_for, people, contract, keys_exchanged, tmp_path
):
    survey_to_the_end(people, contract, tmp_path / "out")
    manager, staff = client_for(Role.MANAGER), client_for(Role.WARD_STAFF)
    assert contract.code in manager.get("/closing/erasure/").content.decode()
    response = manager.post(f"/closing/erasure/{contract.code}/start/")
    assert response.status_code == 302
    erasure = Erasure.objects.get()
    page = manager.get(f"/closing/erasure/{contract.code}/").content.decode()
    assert erasure.challenge in page
    # The ward's page shows the one-time code for the challenge read from that page.
    ward_page = staff.post(
        "/closing/certificates/witness-code/",
        {"contract": contract.code, "challenge": erasure.challenge.lower()},
    ).content.decode()
    code = re.search(r'class="challenge"><strong>([A-Z0-9]{8})</strong>', ward_page).group(1)
    wrong = manager.post(
        f"/closing/erasure/{contract.code}/witness/code/",
        {"witness_name": "戸山 花子", "code": "AAAAAAAA"},
    )
    assert wrong.status_code == 400
    assert "ワンタイムコードが一致しません" in wrong.content.decode()
    response = manager.post(
        f"/closing/erasure/{contract.code}/witness/code/",
        {"witness_name": "戸山 花子", "code": code},
    )
    assert response.status_code == 302
    response = manager.post(f"/closing/erasure/{contract.code}/run/")
    assert response.status_code == 302
    page = manager.get(f"/closing/erasure/{contract.code}/").content.decode()
    erasure.refresh_from_db()
    assert str(erasure.certificate_id) in page
    assert "タブレット1" in page  # pending: not in touch since
    pdf = manager.get(f"/closing/erasure/{contract.code}/certificate.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    response = manager.post(f"/closing/erasure/{contract.code}/package/")
    assert response.status_code == 302 and "/handover/slips/" in response["Location"]
    package = Package.objects.get(kind="certificate", holder=contract.contractor)
    data = server_copy(package).read_bytes()
    # The ward imports the file on its page: verified, the contract closed.
    upload = SimpleUploadedFile(package.filename, data)
    response = staff.post(
        "/closing/certificates/import/", {"package": upload, "giver_name": "高田 誠"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contract.refresh_from_db()
    assert contract.status == Contract.Status.CLOSED
    ward_page = staff.get("/closing/certificates/").content.decode()
    assert str(erasure.certificate_id) in ward_page
    pdf = staff.get(f"/closing/certificates/{contract.code}/certificate.pdf")
    assert pdf.content.startswith(b"%PDF")
    # The same file again: refused with the reason, nothing changes.
    again = staff.post(
        "/closing/certificates/import/",
        {"package": SimpleUploadedFile(package.filename, data)},
    )
    assert again.status_code == 400
    shown = re.findall(r"role=\"status\">([^<]*)<", again.content.decode())
    assert shown and "取り込まれています" in shown[0], shown


def test_the_witness_signs_in_on_the_contractor_page(
    client_for, people, contract, keys_exchanged, tmp_path
):
    survey_to_the_end(people, contract, tmp_path / "out")
    manager = client_for(Role.MANAGER)
    manager.post(f"/closing/erasure/{contract.code}/start/")
    staff = people[Role.WARD_STAFF]
    response = manager.post(
        f"/closing/erasure/{contract.code}/witness/sign-in/",
        {"username": staff.username, "password": "wrong", "token": "123456"},
    )
    assert response.status_code == 400
    from tests.conftest import PASSWORD

    response = manager.post(
        f"/closing/erasure/{contract.code}/witness/sign-in/",
        {"username": staff.username, "password": PASSWORD, "token": current_code(staff)},
    )
    assert response.status_code == 302
    assert Erasure.objects.get().witness_user == staff

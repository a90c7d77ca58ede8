"""People on the contract (C-O1, S13, S18, C-O3): the training and pledge gate, uploads
checked by content and stored encrypted, the roster PDF and the surveyor's ID card."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.parties import selectors, services
from genchi.parties.models import Designation, IdCard, Pledge, TrainingRecord
from tests.conftest import make_person, qualify

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _image(kind: str = "PNG", size=(40, 50)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(out, kind)
    return out.getvalue()


def _designate(person, contract, by, role=Designation.Role.SURVEYOR):
    return services.designate(
        contract=contract, person=person, role=role, starts_on=contract.starts_on, by=by
    )


# --- the gate ------------------------------------------------------------------------------


def test_no_training_no_pledge_refused_with_both_reasons(people, contract, contractor):
    newcomer = make_person("c-new", contractor, Role.SURVEYOR, qualified=False)
    reasons = selectors.may_work_on(newcomer, contract)
    assert any("研修" in r for r in reasons) and any("誓約書" in r for r in reasons)
    with pytest.raises(ValidationError) as refused:
        _designate(newcomer, contract, people[Role.MANAGER])
    text = " ".join(refused.value.messages)
    assert "指定できません" in text and "受講記録がありません" in text and "誓約書" in text
    assert not Designation.objects.filter(person=newcomer).exists()


def test_no_pledge_refused(people, contract, contractor):
    person = make_person("c-np", contractor, Role.SURVEYOR, qualified=False)
    services.record_training(
        person,
        trained_on=TODAY() - dt.timedelta(days=3),
        course="研修",
        taught_by="講師",
        ordinance_read=True,
        provisions_read=True,
    )
    assert selectors.may_work_on(person, contract) == ["秘密保持の誓約書が登録されていません。"]
    with pytest.raises(ValidationError, match="誓約書"):
        _designate(person, contract, people[Role.MANAGER])


def test_training_without_the_ordinance_and_provisions_does_not_count(people, contract, contractor):
    person = make_person("c-half", contractor, Role.SURVEYOR, qualified=False)
    services.record_training(
        person,
        trained_on=TODAY(),
        course="研修",
        taught_by="講師",
        ordinance_read=True,
        provisions_read=False,
    )
    services.record_pledge(person, signed_on=TODAY(), on_paper=True)
    with pytest.raises(ValidationError, match="受講記録がありません"):
        _designate(person, contract, people[Role.MANAGER])


def test_training_older_than_a_year_refused(people, contract, contractor):
    person = make_person("c-old", contractor, Role.SURVEYOR, qualified=False)
    qualify(person, trained_on=TODAY() - dt.timedelta(days=366))
    with pytest.raises(ValidationError, match="1年を超えて"):
        _designate(person, contract, people[Role.MANAGER])
    qualify(person, trained_on=TODAY() - dt.timedelta(days=365))  # a year to the day: fine
    assert _designate(person, contract, people[Role.MANAGER]).pk


def test_the_designation_page_says_why(client_for, people, contract, contractor):
    newcomer = make_person("c-new2", contractor, Role.HANDLER, qualified=False)
    response = client_for(Role.MANAGER).post(
        f"/contracts/{contract.code}/designations/",
        {"person": newcomer.pk, "role": "handler", "starts_on": "2026-07-01"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "指定できません" in page and "研修" in page and "誓約書" in page


def test_the_person_page_shows_the_reasons_and_the_records(client_for, people, contractor):
    newcomer = make_person("c-new3", contractor, Role.SURVEYOR, qualified=False)
    page = client_for(Role.MANAGER).get(f"/people/{newcomer.pk}/").content.decode()
    assert "契約への指定・案件の割当・タブレットの登録ができません" in page
    page = client_for(Role.MANAGER).get(f"/people/{people[Role.SURVEYOR].pk}/").content.decode()
    assert "研修(1年以内)と誓約書がそろっています" in page


def test_manager_records_training_and_pledge_through_the_pages(client_for, people, contractor):
    person = make_person("c-new4", contractor, Role.SURVEYOR, qualified=False)
    client = client_for(Role.MANAGER)
    client.post(
        f"/people/{person.pk}/training/",
        {
            "trained_on": TODAY().isoformat(),
            "course": "個人情報保護研修",
            "taught_by": "外部講師",
            "ordinance_read": "on",
            "provisions_read": "on",
        },
    )
    scan = SimpleUploadedFile("pledge.png", _image(), content_type="image/png")
    client.post(f"/people/{person.pk}/pledge/", {"signed_on": TODAY().isoformat(), "scan": scan})
    assert selectors.qualification_problems(person) == []
    training = TrainingRecord.objects.get(person=person)
    assert training.by == people[Role.MANAGER]
    pledge = Pledge.objects.get(person=person)
    assert pledge.scan_type == "png"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"staff.training_recorded", "staff.pledge_recorded"} <= actions
    # The scan is encrypted at rest, and shown (logged) to the manager only.
    with connection.cursor() as cur:
        cur.execute("SELECT scan FROM parties_pledge WHERE id = %s", [pledge.pk])
        stored = bytes(cur.fetchone()[0])
    assert b"PNG" not in stored and b"IHDR" not in stored
    response = client.get(f"/people/{person.pk}/pledges/{pledge.pk}/scan/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content == _image()
    assert AuditEntry.objects.filter(action="staff.pledge_scan_viewed").exists()


def test_a_ward_admin_cannot_record_contractor_training(people):
    with pytest.raises(Exception, match="取扱責任者"):
        services.record_training(
            people[Role.SURVEYOR],
            trained_on=TODAY(),
            course="x",
            taught_by="y",
            ordinance_read=True,
            provisions_read=True,
            by=people[Role.WARD_ADMIN],
        )


# --- uploads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("pledge.pdf", b"MZ\x90\x00 not a pdf at all"),
        ("pledge.png", b"GIF89a" + b"\x00" * 40),
        ("pledge.jpg", b"\xff\xd8\xff\xe0 truncated jpeg"),
        ("pledge.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30),
        ("pledge.pdf", b"%PDF-1.7\n1 0 obj\n"),  # no end of file
        ("empty.pdf", b""),
    ],
)
def test_scans_that_are_not_pdf_or_images_are_refused(people, name, data):
    with pytest.raises(ValidationError):
        services.record_pledge(
            people[Role.SURVEYOR], signed_on=TODAY(), scan=SimpleUploadedFile(name, data)
        )


def test_a_pdf_scan_is_accepted_and_a_pdf_photo_refused(people):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    pledge = services.record_pledge(
        people[Role.SURVEYOR], signed_on=TODAY(), scan=SimpleUploadedFile("p.pdf", pdf)
    )
    assert pledge.scan_type == "pdf"
    with pytest.raises(ValidationError, match="JPEG または PNG"):
        services.set_photo(people[Role.SURVEYOR], SimpleUploadedFile("me.jpg", pdf))


def test_uploads_over_the_limit_are_refused(people, client_for):
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (6 * 1024 * 1024)
    response = client_for(Role.MANAGER).post(
        f"/people/{people[Role.SURVEYOR].pk}/pledge/",
        {"signed_on": TODAY().isoformat(), "scan": SimpleUploadedFile("big.png", big)},
        follow=True,
    )
    assert "ファイルが大きすぎます" in response.content.decode()
    assert not Pledge.objects.filter(person=people[Role.SURVEYOR], scan_type="png").exists()


def test_a_pledge_needs_a_scan_or_the_paper_tick(people):
    with pytest.raises(ValidationError, match="紙で保管"):
        services.record_pledge(people[Role.SURVEYOR], signed_on=TODAY())


def test_photo_is_encrypted_at_rest(people):
    services.set_photo(people[Role.SURVEYOR], SimpleUploadedFile("me.jpg", _image("JPEG")))
    assert services.photo_bytes(people[Role.SURVEYOR]) == _image("JPEG")
    with connection.cursor() as cur:
        cur.execute("SELECT image FROM parties_staffphoto")
        assert b"JFIF" not in bytes(cur.fetchone()[0])


# --- PDFs ----------------------------------------------------------------------------------


def _pdffonts(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout


def _pdftext(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _embedded(fonts: str) -> None:
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("BIZUDGothic" in row for row in rows), fonts
    # The "emb" column is the first yes/no after the encoding: every font is embedded.
    assert all(row.split()[-5] == "yes" for row in rows), fonts


def test_roster_pdf(client_for, people, contract, tmp_path):
    response = client_for(Role.MANAGER).get(f"/contracts/{contract.code}/roster.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    _embedded(_pdffonts(response.content, tmp_path))
    text = _pdftext(response.content, tmp_path)
    assert "取扱者名簿" in text and "令和" in text
    for role in (Role.MANAGER, Role.HANDLER, Role.SURVEYOR):
        assert people[role].full_name in text
    assert "取扱責任者" in text and "調査員" in text
    assert AuditEntry.objects.filter(action="staff.roster_printed").exists()
    # The ward reads the roster of its contract too.
    assert (
        client_for(Role.WARD_STAFF).get(f"/contracts/{contract.code}/roster.pdf").status_code == 200
    )


def test_id_card_issue_print_check_and_revoke(client_for, people, contract, tmp_path):
    surveyor = people[Role.SURVEYOR]
    services.set_photo(surveyor, SimpleUploadedFile("me.png", _image()))
    designation = Designation.objects.get(person=surveyor)
    client = client_for(Role.MANAGER)
    client.post(f"/contracts/{contract.code}/designations/{designation.pk}/id-card/")
    card = IdCard.objects.get(designation=designation)
    assert card.serial.startswith(f"G{contract.fiscal_year}-")
    assert card.valid_until <= contract.ends_on
    response = client.get(f"/id-cards/{card.pk}/pdf/")
    assert response.status_code == 200
    _embedded(_pdffonts(response.content, tmp_path))
    text = _pdftext(response.content, tmp_path)
    assert "身分証明書" in text and "委託証明書" in text and "令和" in text
    assert card.serial in text and surveyor.full_name in text and contract.ward.name in text
    images = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / "doc.pdf")], capture_output=True, text=True
    ).stdout
    assert len(images.splitlines()) == 3  # header lines and the photo

    check = f"/id-cards/check/{card.token}/"
    assert "有効な身分証明書です" in client.get(check).content.decode()
    # The ward of the contract may check a card too; another ward's people see nothing.
    assert "有効な身分証明書です" in client_for(Role.WARD_STAFF).get(check).content.decode()
    assert client_for(Role.SURVEYOR).get(check).status_code == 403
    IdCard.objects.filter(pk=card.pk).update(valid_until=TODAY() - dt.timedelta(days=1))
    assert "有効期限が切れています" in client.get(check).content.decode()
    IdCard.objects.filter(pk=card.pk).update(valid_until=contract.ends_on)
    client.post(f"/id-cards/{card.pk}/revoke/")
    assert "失効しています" in client.get(check).content.decode()
    assert (
        "該当する身分証明書はありません" in client.get("/id-cards/check/forged/").content.decode()
    )
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    for action in ("staff.id_card_issued", "staff.id_card_printed", "staff.id_card_revoked"):
        assert action in actions
    assert actions.count("staff.id_card_checked") >= 4


def test_id_cards_only_for_qualified_surveyors(people, contract):
    handler = Designation.objects.get(person=people[Role.HANDLER])
    with pytest.raises(ValidationError, match="調査員"):
        services.issue_id_card(handler)
    surveyor = Designation.objects.get(person=people[Role.SURVEYOR])
    Pledge.objects.filter(person=surveyor.person).delete()
    with pytest.raises(ValidationError, match="誓約書"):
        services.issue_id_card(surveyor)


def test_another_contractor_cannot_check_our_cards(people, contract):
    card = services.issue_id_card(Designation.objects.get(person=people[Role.SURVEYOR]))
    other = services.create_organisation(code="other", name="他社", kind="contractor")
    stranger = make_person("o-manager", other, Role.MANAGER)
    assert selectors.card_by_token(stranger, card.token) is None
    assert selectors.card_by_token(people[Role.HANDLER], card.token) == card


def test_the_card_qr_code_opens_the_check_page(client_for, people, monkeypatch):
    from genchi.parties import documents

    encoded: list[str] = []
    real = documents.QrCode

    def recording(data, *args, **kwargs):
        encoded.append(data)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(documents, "QrCode", recording)
    card = services.issue_id_card(Designation.objects.get(person=people[Role.SURVEYOR]))
    client = client_for(Role.MANAGER)
    assert client.get(f"/id-cards/{card.pk}/pdf/").status_code == 200
    assert encoded and set(encoded) == {f"http://testserver/id-cards/check/{card.token}/"}
    path = encoded[0].removeprefix("http://testserver")
    assert "有効な身分証明書です" in client.get(path).content.decode()

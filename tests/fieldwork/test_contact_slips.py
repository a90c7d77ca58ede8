"""Contact slips (連絡票): a PDF per case, in route order, with the contract's wording and
contact; nothing about taxes, no name or address; printed only by who may read the case."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork.documents import contact_slips_pdf, slip_problems
from genchi.fieldwork.models import SurveyCase
from genchi.fieldwork.services import assign_cases
from genchi.parties import services as parties
from genchi.parties.models import DEFAULT_SLIP_WORDING, Contract
from tests.fieldwork.world import receive

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts")),
    reason="poppler-utils is not installed",
)

TAX_WORDS = ("税", "滞納", "督促", "差押")


@pytest.fixture
def received(people, contract, keys_exchanged) -> list[SurveyCase]:
    contract.contact_phone = "03-3209-1111"
    contract.contact_hours = "平日 8時30分〜17時15分"
    contract.contact_address = "東京都新宿区歌舞伎町一丁目4番1号"
    contract.save()
    return receive(people, contract)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "slips.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_poppler
def test_slip_pdf_has_the_contact_the_reference_and_embedded_fonts(received, contract, tmp_path):
    data = contact_slips_pdf(contract, received[:2])
    text = pdf_text(data, tmp_path)
    assert DEFAULT_SLIP_WORDING in text
    assert "令和" in text and "03-3209-1111" in text and "平日 8時30分〜17時15分" in text
    assert "新宿区役所" in text  # the ward's office, not its organisation name
    assert received[0].case_ref in text and received[1].case_ref in text
    assert text.index(received[0].case_ref) < text.index(received[1].case_ref)
    assert text.count("\f") == 2  # one page per slip
    fonts = subprocess.run(
        ["pdffonts", str(tmp_path / "slips.pdf")], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("BIZUDGothic" in row[0] and row[-5] == "yes" for row in rows), fonts


@needs_poppler
def test_the_default_slip_says_nothing_about_taxes_names_or_addresses(
    received, contract, ward, tmp_path
):
    assert "税" in ward.name  # the fixture's ward is 「新宿区 税務課」: it must not show
    text = pdf_text(contact_slips_pdf(contract, received), tmp_path)
    for word in TAX_WORDS:
        assert word not in text, word
    for case in received:
        assert case.name not in text and case.name.split()[0] not in text
        assert case.address not in text and (case.town or "豊玉") not in text


@needs_poppler
def test_the_wording_and_sender_are_settings_of_the_contract(received, contract, tmp_path):
    contract.slip_wording = "大切なお知らせがあります。お手数ですがお電話ください。"
    contract.contact_department = "新宿区役所 区民相談係"
    contract.save()
    text = pdf_text(contact_slips_pdf(contract, received[:1]), tmp_path)
    assert "大切なお知らせがあります。" in text and DEFAULT_SLIP_WORDING not in text
    assert "新宿区役所 区民相談係" in text
    contract.slip_wording = "  "  # left empty on the form: the default wording
    text = pdf_text(contact_slips_pdf(contract, received[:1]), tmp_path)
    assert DEFAULT_SLIP_WORDING in text


def test_tax_words_are_refused_in_the_slip_settings(contract):
    for field in ("slip_wording", "contact_department", "contact_hours", "contact_address"):
        setattr(contract, field, "税務課 滞納整理係")
        with pytest.raises(ValidationError) as exc:
            contract.full_clean()
        assert field in exc.value.message_dict
        assert "税に関する語は使えません" in exc.value.message_dict[field][0]
        contract.refresh_from_db()


def test_the_sender_defaults_to_the_wards_office_never_its_organisation_name(contract):
    for home_city, sender in (
        ("東京都新宿区", "新宿区役所"),
        ("京都府京都市", "京都市役所"),
        ("北海道札幌市中央区", "札幌市中央区役所"),
        ("神奈川県横浜市", "横浜市役所"),
        ("", ""),
    ):
        contract.ward.home_city = home_city
        assert contract.slip_sender == sender
    assert "連絡票の差出人" in slip_problems(contract)[0]
    contract.contact_department = "区民相談係"
    assert contract.slip_sender == "区民相談係"


def test_a_slip_without_a_phone_cannot_be_printed(contract):
    assert slip_problems(contract) == ["連絡票の電話番号が設定されていません"]
    contract.contact_phone = "03-0000-0000"
    assert slip_problems(contract) == []


def test_the_ward_admin_sets_the_slip_on_the_contract_page(contract, client_for):
    detail = client_for(Role.WARD_ADMIN).get(f"/contracts/{contract.code}/").content.decode()
    assert "新宿区役所" in detail and "未設定(連絡票を印刷できません)" in detail
    url = f"/contracts/{contract.code}/edit/"
    page = client_for(Role.WARD_ADMIN).get(url).content.decode()
    assert 'name="slip_wording"' in page and 'name="contact_phone"' in page
    data = {
        "title": contract.title,
        "fiscal_year": contract.fiscal_year,
        "starts_on": contract.starts_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(),
        "max_cases": contract.max_cases,
        "status": contract.status,
        "contact_department": "新宿区役所 区民相談係",
        "contact_phone": "03-1111-2222",
        "contact_hours": "平日 9時〜17時",
        "contact_address": "",
        "slip_wording": "お知らせがあります。",
    }
    response = client_for(Role.WARD_ADMIN).post(url, data)
    assert response.status_code == 302
    contract.refresh_from_db()
    assert (contract.contact_phone, contract.slip_wording) == (
        "03-1111-2222",
        "お知らせがあります。",
    )
    entry = AuditEntry.objects.filter(action="contract.updated").latest("seq")
    assert entry.detail["after"]["contact_phone"] == "03-1111-2222"
    response = client_for(Role.WARD_ADMIN).post(url, {**data, "slip_wording": "税の督促です"})
    assert response.status_code == 200
    assert "税に関する語は使えません" in response.content.decode()


def test_created_contracts_take_the_slip_settings(ward, contractor):
    contract = parties.create_contract(
        code="c2027",
        title="t",
        ward=ward,
        contractor=contractor,
        fiscal_year=2027,
        starts_on=Contract._meta.get_field("starts_on").to_python("2027-04-01"),
        ends_on=Contract._meta.get_field("ends_on").to_python("2028-03-31"),
        contact_phone="03-9999-0000",
    )
    assert contract.contact_phone == "03-9999-0000"
    assert contract.slip_wording == DEFAULT_SLIP_WORDING


# --- the pages -------------------------------------------------------------------------


def test_one_case_slip_for_office_and_the_assigned_surveyor_only(
    received, people, contract, client_for
):
    mine, other = received[0], received[1]
    assign_cases(contract, [mine.case_ref], people[Role.SURVEYOR], by=people[Role.MANAGER])
    url = f"/fieldwork/cases/{contract.code}/{{}}/slip.pdf"
    surveyor = client_for(Role.SURVEYOR)
    response = surveyor.get(url.format(mine.case_ref))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert surveyor.get(url.format(other.case_ref)).status_code == 404
    for role in (Role.MANAGER, Role.HANDLER):
        assert client_for(role).get(url.format(other.case_ref)).status_code == 200
    for role in (Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        assert client_for(role).get(url.format(mine.case_ref)).status_code == 403
    entry = AuditEntry.objects.filter(action="contact_slip.printed").order_by("seq").first()
    assert entry.detail == {"refs": [mine.case_ref], "count": 1, "view": "case"}
    assert entry.actor == people[Role.SURVEYOR].username
    assert entry.contract_code == contract.code


@needs_poppler
def test_a_days_run_in_route_order_by_query_or_post(
    received, people, contract, client_for, tmp_path
):
    order = [received[2].case_ref, received[0].case_ref, received[3].case_ref]
    url = f"/fieldwork/slips/{contract.code}/"
    client = client_for(Role.HANDLER)
    response = client.get(url, {"refs": ",".join(order)})
    assert response.status_code == 200
    text = pdf_text(response.content, tmp_path)
    positions = [text.index(ref) for ref in order]
    assert positions == sorted(positions) and text.count("\f") == 3
    response = client.post(url, {"refs": [order[1], order[0]]})
    text = pdf_text(response.content, tmp_path)
    assert text.index(order[1]) < text.index(order[0])
    entries = AuditEntry.objects.filter(action="contact_slip.printed").order_by("seq")
    assert [e.detail["refs"] for e in entries] == [order, [order[1], order[0]]]
    assert all(e.detail["view"] == "route" for e in entries)


def test_a_run_with_a_case_outside_ones_scope_prints_nothing(
    received, people, contract, client_for
):
    mine = received[0]
    assign_cases(contract, [mine.case_ref], people[Role.SURVEYOR], by=people[Role.MANAGER])
    url = f"/fieldwork/slips/{contract.code}/"
    client = client_for(Role.SURVEYOR)
    assert client.get(url, {"refs": mine.case_ref}).status_code == 200
    for refs in (f"{mine.case_ref},{received[1].case_ref}", f"{mine.case_ref},NO-SUCH"):
        response = client.get(url, {"refs": refs}, follow=True)
        assert response.redirect_chain and response.redirect_chain[-1][0] == "/fieldwork/cases/"
        assert "あなたが扱える案件にありません" in response.content.decode()
    response = client.get(url, follow=True)
    assert "番号を指定してください" in response.content.decode()
    assert AuditEntry.objects.filter(action="contact_slip.printed").count() == 1


def test_no_phone_set_tells_who_sets_it_and_prints_nothing(
    people, contract, keys_exchanged, client_for
):
    cases = receive(people, contract)
    response = client_for(Role.MANAGER).get(
        f"/fieldwork/cases/{contract.code}/{cases[0].case_ref}/slip.pdf", follow=True
    )
    page = response.content.decode()
    assert "電話番号が設定されていません" in page and "契約の変更画面" in page
    assert not AuditEntry.objects.filter(action="contact_slip.printed").exists()

"""Contract recipient keys (issue 11, item 10): packages of a contract are encrypted to a
key of that contract, exchanged with a fingerprint read-out, and destroyed with the
contract's data key, so a stray copy of a package no longer opens after erasure."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from genchi import vault
from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork.models import SurveyCase
from genchi.package_format import Refused, open_package
from genchi.package_format.contract_card import parse_contract_card
from genchi.parties import services as party_services
from genchi.parties.models import Contract
from genchi.transfer import contract_keys, orgkeys, services
from genchi.transfer.models import ContractRecipientKey, Package, PartnerContractCard
from genchi.transfer.refusals import refusal_message
from genchi.vault import encryption
from genchi.vault.models import DataKey
from tests.transfer.handover_world import make_cases, make_sealed_batch
from tests.transfer.test_cli import genchi


@pytest.fixture
def org_cards(ward, contractor):
    """Only the organisation cards: the contract's recipient cards are not exchanged."""
    orgkeys.exchange_demo_cards(ward, contractor)


def _other_contract(ward, contractor) -> Contract:
    return party_services.create_contract(
        code="c2027",
        title="別契約",
        ward=ward,
        contractor=contractor,
        fiscal_year=2027,
        starts_on=dt.date(2027, 6, 1),
        ends_on=dt.date(2028, 3, 31),
        status=Contract.Status.ACTIVE,
    )


def _export(contract, people, tmp_path, name="stick"):
    batch = make_sealed_batch(contract, make_cases(contract), by=people[Role.WARD_STAFF])
    out = tmp_path / name
    out.mkdir()
    return services.export_batch(batch, out, by=people[Role.WARD_STAFF])


def _open(path, contract, identity):
    """Open with only `identity`, every other check as an import makes it."""
    return open_package(
        path,
        sender_key=orgkeys.own_card(contract.ward),
        expected_contract=contract.code,
        expected_recipient=contract.contractor.code,
        identity=identity,
        already_imported=lambda _package_id: False,
    )


def _import(path, people, **kw):
    return services.import_cases_package(path, by=people[Role.MANAGER], **kw)


# --- the key and its card -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_secret_is_stored_under_the_contract_data_key(contract, contractor, org_cards):
    row = contract_keys.create_recipient_key(contract, contractor)
    assert b"AGE-SECRET-KEY" not in bytes(row.secret_blob)
    scope = vault.scope_of(contract, contractor)
    assert encryption.key_scope_of(bytes(row.secret_blob)) == scope
    identity = contract_keys.identity_of(row)
    assert identity is not None and identity.startswith("AGE-SECRET-KEY-1")
    card = parse_contract_card(row.card_json)
    assert (card.contract, card.org_code) == (contract.code, contractor.code)
    assert card.age_recipient == row.age_recipient
    card.verify(orgkeys.own_card(contractor).signing_key)
    with pytest.raises(Refused) as exc:
        contract_keys.create_recipient_key(contract, contractor)
    assert exc.value.code == "recipient_key_exists"


@pytest.mark.django_db
def test_a_card_is_registered_only_with_the_fingerprint_read_out(
    contract, ward, contractor, org_cards
):
    row = contract_keys.create_recipient_key(contract, contractor)
    for wrong in ("", "0000 1111", orgkeys.own_card(contractor).signing_fingerprint):
        with pytest.raises(Refused) as exc:
            contract_keys.import_card(ward, row.card_json, expected_fingerprint=wrong)
        assert exc.value.code == "fingerprint_differs"
        assert "フィンガープリント" in refusal_message(exc.value)
    assert not PartnerContractCard.objects.exists()
    assert AuditEntry.objects.filter(action="contractkey.card_refused").count() == 3
    spoken = row.encryption_fingerprint.lower().replace(" ", "")  # however it was typed
    card = contract_keys.import_card(ward, row.card_json, expected_fingerprint=spoken)
    assert (card.holder, card.subject, card.contract) == (ward, contractor, contract)
    assert contract_keys.recipient_for(contract, ward, contractor) == row.age_recipient


@pytest.mark.django_db
def test_a_card_not_signed_by_the_partner_is_refused(contract, ward, contractor, org_cards):
    row = contract_keys.create_recipient_key(contract, contractor)
    orgkeys.create_key_pair(contractor, replace=True)  # not the signing key the ward holds
    forged = contract_keys.create_recipient_key(_other_contract(ward, contractor), contractor)
    altered = json.loads(row.card_json)
    altered["created_at"] = "2020-01-01T00:00:00+00:00"
    for data, fingerprint in (
        (json.dumps(altered), row.encryption_fingerprint),
        (forged.card_json, forged.encryption_fingerprint),
    ):
        with pytest.raises(Refused) as exc:
            contract_keys.import_card(ward, data, expected_fingerprint=fingerprint)
        assert exc.value.code == "bad_card_signature"
        assert "署名" in refusal_message(exc.value)


@pytest.mark.django_db
def test_a_card_of_another_side_or_contract_is_refused(contract, ward, contractor, org_cards):
    own = contract_keys.create_recipient_key(contract, ward)
    with pytest.raises(Refused) as exc:  # the ward's own card, registered by the ward
        contract_keys.import_card(ward, own.card_json, expected_fingerprint="x")
    assert exc.value.code == "not_party"
    foreign = json.loads(own.card_json)
    foreign["contract"] = "no-such-contract"
    with pytest.raises(Refused) as exc:
        contract_keys.import_card(contractor, json.dumps(foreign), expected_fingerprint="x")
    assert exc.value.code == "wrong_contract"


# --- export and import ----------------------------------------------------------------------


@pytest.mark.django_db
def test_export_without_a_confirmed_contract_card_is_refused(people, contract, org_cards, tmp_path):
    contract_keys.create_recipient_key(contract, contract.contractor)  # made, not registered
    with pytest.raises(Refused) as exc:
        _export(contract, people, tmp_path)
    assert exc.value.code == "no_contract_card"
    message = refusal_message(exc.value)
    assert "受け取り鍵カード" in message and contract.code in message
    assert not Package.objects.exists()
    assert list((tmp_path / "stick").iterdir()) == []
    refused = AuditEntry.objects.get(action="package.export_refused")
    assert refused.detail["code"] == "no_contract_card"


@pytest.mark.django_db
def test_the_package_opens_with_the_contract_key_only(people, contract, keys_exchanged, tmp_path):
    exported = _export(contract, people, tmp_path)
    contractor = contract.contractor
    org_identity = orgkeys.secret_keys(contractor).encryption.identity
    with pytest.raises(Refused) as exc:  # not with the organisation key
        _open(exported.path, contract, org_identity)
    assert exc.value.code == "wrong_key"
    imported = _import(exported.path, people)
    assert imported.created == SurveyCase.objects.filter(contract=contract).count() > 0


@pytest.mark.django_db
def test_a_package_of_one_contract_does_not_open_under_another(
    people, ward, contractor, contract, keys_exchanged, tmp_path
):
    other = _other_contract(ward, contractor)
    contract_keys.exchange_demo_cards(other)
    exported = _export(other, people, tmp_path)
    identity = contract_keys.identities_for(contract, contractor)[0]
    with pytest.raises(Refused) as exc:
        _open(exported.path, other, identity)
    assert exc.value.code == "wrong_key"
    with pytest.raises(Refused) as exc:
        _import(exported.path, people, contract_code=contract.code)
    assert exc.value.code == "wrong_key"
    assert not Package.objects.filter(direction=Package.Direction.INCOMING).exists()


# --- erasure --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_after_erasure_the_imported_package_no_longer_opens(
    people, contract, keys_exchanged, tmp_path
):
    contractor = contract.contractor
    exported = _export(contract, people, tmp_path)
    stray = tmp_path / "backup.genchi.age"  # a copy kept somewhere (a backup, a stick)
    stray.write_bytes(exported.path.read_bytes())
    _import(exported.path, people)
    assert services.inspect_file(stray).opened_as == contractor.code

    destroyed = contract_keys.erase_contract_keys(contract, contractor)

    assert destroyed and all(DataKey.objects.get(pk=key_id).destroyed_at for key_id in destroyed)
    row = ContractRecipientKey.objects.get(contract=contract, organisation=contractor)
    assert row.destroyed_at is not None and bytes(row.secret_blob) == b""
    entry = AuditEntry.objects.get(action="contract.keys_destroyed")
    assert entry.detail["recipient_key"] == row.encryption_fingerprint
    # Neither the copy nor the file that was imported opens here any more.
    for path in (stray, exported.path):
        with pytest.raises(Refused) as exc:
            _import(path, people)
        assert exc.value.code == "contract_erased"
        assert "消去済み" in refusal_message(exc.value)
        with pytest.raises(Refused) as exc:
            _import(path, people, contract_code=contract.code)
        assert exc.value.code == "contract_erased"
    assert services.inspect_file(stray).opened_as == ""
    # Nor with any key this installation still holds.
    held = [identity for _org, identity in services.local_identities()]
    with pytest.raises(Refused) as exc:
        _open(stray, contract, held)
    assert exc.value.code == "wrong_key"
    with pytest.raises(Refused) as exc:
        contract_keys.create_recipient_key(contract, contractor)
    assert exc.value.code == "contract_erased"


@pytest.mark.django_db
def test_erasing_one_side_leaves_the_other_sides_key(people, contract, keys_exchanged):
    contract_keys.erase_contract_keys(contract, contract.contractor)
    ward_key = contract_keys.recipient_key(contract, contract.ward)
    assert ward_key.destroyed_at is None
    assert contract_keys.identity_of(ward_key) is not None


@pytest.mark.django_db
def test_the_erase_command(people, contract, keys_exchanged, tmp_path):
    exported = _export(contract, people, tmp_path)
    code, _, err = genchi(
        "keys", "contract-erase", "--contract", contract.code, "--org", contract.contractor.code,
        "--confirm", "wrong",
    )  # fmt: skip
    assert code == 1 and "一致しません" in err and "Traceback" not in err
    assert not contract_keys.is_erased(contract, contract.contractor)
    code, out, _ = genchi(
        "keys", "contract-erase", "--contract", contract.code, "--org", contract.contractor.code,
        "--confirm", contract.code,
    )  # fmt: skip
    assert code == 0 and "破棄しました" in out
    code, _, err = genchi("package", "import", str(exported.path), "--user", "c-manager")
    assert code == 1 and "消去済み" in err and "Traceback" not in err


@pytest.mark.django_db
def test_the_card_commands(contract, ward, contractor, org_cards, tmp_path):
    card, qr = tmp_path / "card.json", tmp_path / "card.svg"
    args = ("--contract", contract.code, "--org", contractor.code)
    assert genchi("keys", "contract-create", *args)[0] == 0
    code, out, _ = genchi("keys", "contract-export", *args, "--out", str(card), "--qr", str(qr))
    assert code == 0 and qr.read_text().lstrip().startswith("<svg")
    fingerprint = json.loads(card.read_text())["encryption"]["fingerprint"]
    assert fingerprint in out
    code, _, err = genchi(
        "keys", "contract-import", str(card), "--org", ward.code, "--fingerprint", "0000"
    )
    assert code == 1 and "一致しません" in err and "Traceback" not in err
    code, out, _ = genchi(
        "keys", "contract-import", str(card), "--org", ward.code, "--fingerprint", fingerprint
    )
    assert code == 0, out
    assert contract_keys.recipient_for(contract, ward, contractor).startswith("age1")
    # Both the key and the partner's card are listed, with the fingerprint to compare.
    code, out, _ = genchi("keys", "list")
    assert code == 0
    assert f"[契約の受け取り鍵] {contract.code} {contractor.code}(有効)" in out
    assert f"[相手の契約の受け取り鍵] {ward.code} が登録: {contract.code} {contractor.code}" in out
    assert out.count(fingerprint) == 2


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_card_pages(people, contract, org_cards, client_for):
    manager, admin = client_for(Role.MANAGER), client_for(Role.WARD_ADMIN)
    url = f"/handover/keys/contracts/{contract.pk}/"
    assert "まだありません" in manager.get(url).content.decode()
    response = manager.post(f"{url}create/", follow=True)
    page = response.content.decode()
    row = contract_keys.recipient_key(contract, contract.contractor)
    assert row.encryption_fingerprint in page and "<svg" in page
    download = manager.get(f"{url}card.json")
    assert download.status_code == 200 and download.content == row.card_json.encode()
    form = {"ccard-card_text": row.card_json, "ccard-fingerprint": "1234"}
    page = admin.post("/handover/keys/contract-cards/", form).content.decode()
    assert "一致しません" in page and not PartnerContractCard.objects.exists()
    form["ccard-fingerprint"] = row.encryption_fingerprint
    response = admin.post("/handover/keys/contract-cards/", form, follow=True)
    assert "登録しました" in response.content.decode()
    assert PartnerContractCard.objects.get(holder=contract.ward).age_recipient == row.age_recipient
    keys_page = admin.get("/handover/keys/").content.decode()
    assert row.encryption_fingerprint in keys_page

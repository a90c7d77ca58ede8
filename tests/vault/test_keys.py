"""Data keys by scope under the master key: rotation, crypto-erasure of one side (D1)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from genchi import vault
from genchi.accounts.models import Role
from genchi.fieldwork.models import SurveyCase
from genchi.intake.models import Case
from genchi.parties import services as parties
from genchi.transfer import orgkeys
from genchi.transfer import services as transfer
from genchi.transfer.models import OrganisationKeyPair
from genchi.vault import encryption, keys
from genchi.vault.fields import ERASED
from genchi.vault.master import MasterKeyError, master_key_path, read_master_key
from genchi.vault.models import DataKey

pytestmark = pytest.mark.django_db

NAME = "髙橋 﨑太郎"
ADDRESS = "大阪府大阪市北区梅田一丁目1番3号"


def _case(contract) -> Case:
    return Case.objects.create(contract=contract, name=NAME, address=ADDRESS, identity_key="k1")


def _handed_over(sealed_batch, people, tmp_path) -> None:
    """The demo's shared installation: the ward exports, the contractor imports."""
    out = tmp_path / "usb"
    out.mkdir()
    result = transfer.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    transfer.import_cases_package(result.path, by=people[Role.MANAGER])


def test_master_key_lives_in_a_private_file_not_the_database(contract):
    path = master_key_path()
    assert path.exists() and (path.stat().st_mode & 0o077) == 0
    master = read_master_key()
    row = DataKey.objects.get(contract=contract)
    assert master.key not in bytes(row.wrapped_key)
    assert bytes(row.wrapped_key)[0] == encryption.WRAPPED_V1


def test_missing_master_key_is_never_silently_replaced(contract):
    _case(contract)
    master_key_path().unlink()
    keys.clear_cache()
    with pytest.raises(MasterKeyError):
        Case.objects.get(contract=contract).name  # noqa: B018


def test_each_contract_and_side_has_its_own_key(contract, other_contract, ward):
    other = other_contract
    a, b = _case(contract), _case(other)
    assert a.pk != b.pk
    by_scope = {(k.contract_id, k.organisation_id) for k in DataKey.objects.all()}
    assert by_scope == {(contract.pk, ward.pk), (other.pk, ward.pk)}  # the wards' sides
    vault.encrypt(vault.contract_scope(contract.pk, vault.CONTRACTOR), "x:1", b"")
    assert DataKey.objects.filter(contract=contract).count() == 2  # made on first use


def test_rotate_master_rewraps_every_key_and_secret(contract, ward, contractor, capsys):
    case = _case(contract)
    contractor_blob = vault.encrypt(vault.contract_scope(contract.pk, "contractor"), "x:1", b"c")
    own_blob = vault.encrypt(vault.organisation_scope(ward.pk), "accounts:seed:1", b"seed")
    orgkeys.create_key_pair(ward)
    orgkeys.create_key_pair(contractor)
    before = read_master_key()
    call_command("master-key", "rotate")
    after = read_master_key()
    assert after.key_id != before.key_id
    data_keys = DataKey.objects.all()
    assert data_keys.count() == 3  # both sides of the contract and the ward's own key
    assert {k.master_key_id for k in data_keys} == {after.key_id}
    secrets = OrganisationKeyPair.objects.all()
    assert secrets.count() == 2 and {s.master_key_id for s in secrets} == {after.key_id}
    assert "鍵 5 件を包み直し" in capsys.readouterr().out
    keys.clear_cache()
    # Everything reads under the new master key only.
    assert Case.objects.get(pk=case.pk).name == NAME
    assert vault.decrypt(vault.contract_scope(contract.pk, "contractor"), "x:1", contractor_blob)
    assert vault.decrypt(vault.organisation_scope(ward.pk), "accounts:seed:1", own_blob) == b"seed"
    assert orgkeys.secret_keys(ward).org_code == ward.code
    for row in data_keys:
        with pytest.raises(vault.DecryptionFailed):
            vault.unwrap_secret(f"data-key:{row.scope.label}:{row.id}", row.wrapped_key, before)


def test_a_rotation_inside_a_callers_transaction_is_refused_and_changes_nothing(contract):
    """The key file is renamed once the re-wrapped rows commit; inside a caller's
    transaction they could still roll back with the caller's work and leave a master key
    that unwraps nothing, so the rotation must be the outermost transaction."""
    from django.db import transaction

    case = _case(contract)
    before = read_master_key()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        keys.rotate_master_key()
    assert read_master_key().key_id == before.key_id
    assert not master_key_path().with_name("master.key.new").exists()
    assert {k.master_key_id for k in DataKey.objects.all()} == {before.key_id}
    keys.clear_cache()
    assert Case.objects.get(pk=case.pk).name == NAME


def test_crypto_erasure_makes_data_unreadable(contract):
    case = _case(contract)
    destroyed = vault.destroy_contract_keys(contract, contract.ward)
    assert len(destroyed) == 1
    assert Case.objects.get(pk=case.pk).name == ERASED
    with pytest.raises(vault.KeyUnavailable):
        keys.current_key(vault.contract_scope(contract.pk, vault.WARD))


def test_erasing_the_contractors_side_leaves_the_wards_records(
    sealed_batch, people, contract, tmp_path
):
    """One installation hosts both sides (the demo): the contractor erases its copy."""
    _handed_over(sealed_batch, people, tmp_path)
    ward_names = sorted(c.name for c in Case.objects.filter(contract=contract))
    assert sorted(s.name for s in SurveyCase.objects.filter(contract=contract)) == ward_names

    destroyed = vault.destroy_contract_keys(contract, contract.contractor)

    assert [str(k.id) for k in DataKey.objects.exclude(destroyed_at=None)] == destroyed
    for survey_case in SurveyCase.objects.filter(contract=contract):
        assert survey_case.name == ERASED and survey_case.address == ERASED
    assert sorted(c.name for c in Case.objects.filter(contract=contract)) == ward_names
    assert ERASED not in ward_names


def test_erasing_the_wards_side_leaves_the_contractors_copy(
    sealed_batch, people, contract, tmp_path
):
    _handed_over(sealed_batch, people, tmp_path)
    vault.destroy_contract_keys(contract, contract.ward)
    assert {c.name for c in Case.objects.filter(contract=contract)} == {ERASED}
    assert ERASED not in {s.name for s in SurveyCase.objects.filter(contract=contract)}


def test_erasing_an_organisations_own_key_leaves_its_contracts(contract, ward):
    case = _case(contract)
    scope = vault.organisation_scope(ward.pk)
    blob = vault.encrypt(scope, "accounts:seed:1", b"seed")
    assert len(vault.destroy_keys(scope)) == 1
    with pytest.raises(vault.KeyUnavailable):
        vault.decrypt(scope, "accounts:seed:1", blob)
    assert Case.objects.get(pk=case.pk).name == NAME


def test_only_a_party_of_the_contract_has_a_side(contract):
    stranger = parties.create_organisation(code="x", name="他社", kind="contractor")
    with pytest.raises(ValueError):
        vault.destroy_contract_keys(contract, stranger)


def test_the_parties_of_a_contract_never_change(contract):
    """Each side's data is under its own key: a contract cannot be given to another party."""
    other = parties.create_organisation(code="x", name="他社", kind="contractor")
    with pytest.raises(ValidationError):
        parties.update_contract(contract, contractor=other)
    contract.refresh_from_db()
    assert contract.contractor.code == "servicer"
    parties.update_contract(contract, contractor=contract.contractor, title="新しい件名")

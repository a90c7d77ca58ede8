"""Bytes under a scope's data key: bound to their scope and context, and tamper-evident."""

import os

import pytest

from genchi import vault
from genchi.vault import DecryptionFailed, KeyUnavailable, decrypt, encrypt, encryption, keys
from genchi.vault.models import DataKey

pytestmark = pytest.mark.django_db

CONTEXT = "intake:file:7"


@pytest.mark.parametrize("size", [0, 1, 1000, 1_000_000])
def test_round_trip(ward_scope, size):
    data = os.urandom(size)
    blob = encrypt(ward_scope, CONTEXT, data)
    assert decrypt(ward_scope, CONTEXT, blob) == data
    assert decrypt(ward_scope, CONTEXT, memoryview(blob)) == data  # as a BinaryField loads it


def test_the_blob_carries_its_version_and_key_id(ward_scope):
    blob = encrypt(ward_scope, CONTEXT, b"secret text")
    key_id, _ = keys.current_key(ward_scope)
    assert blob[0] == encryption.BYTES_V1
    assert blob[1:17] == key_id.bytes
    assert len(blob) == 1 + 16 + 12 + len(b"secret text") + 16
    assert b"secret" not in blob
    assert encrypt(ward_scope, CONTEXT, b"secret text") != blob  # a fresh nonce each time


def test_another_context_is_refused(ward_scope):
    blob = encrypt(ward_scope, "intake:file:7", b"data")
    for context in ("intake:report:7", "intake:file:8", "intake:file:70", ""):
        with pytest.raises(DecryptionFailed):
            decrypt(ward_scope, context, blob)


def test_a_key_of_another_scope_is_refused(contract, other_contract, ward, ward_scope):
    blob = encrypt(ward_scope, CONTEXT, b"data")
    others = [
        vault.contract_scope(contract.pk, vault.CONTRACTOR),
        vault.contract_scope(other_contract.pk, vault.WARD),
        vault.organisation_scope(ward.pk),
    ]
    for scope in others:
        with pytest.raises(DecryptionFailed):
            decrypt(scope, CONTEXT, blob)


def test_a_key_row_moved_to_another_scope_does_not_unwrap(contract, ward_scope):
    """Someone with write access to the database gives the ward's key to the contractor:
    the key's wrapping names its scope, so it no longer unwraps."""
    blob = encrypt(ward_scope, CONTEXT, b"data")
    key_id, _ = keys.current_key(ward_scope)
    DataKey.objects.filter(pk=key_id).update(organisation=contract.contractor)
    keys.clear_cache()
    with pytest.raises(KeyUnavailable):
        decrypt(vault.contract_scope(contract.pk, vault.CONTRACTOR), CONTEXT, blob)


def test_every_scope_has_its_own_key(contract, other_contract, ward, contractor):
    scopes = [
        vault.contract_scope(contract.pk, vault.WARD),
        vault.contract_scope(contract.pk, vault.CONTRACTOR),
        vault.contract_scope(other_contract.pk, vault.WARD),
        vault.organisation_scope(ward.pk),
        vault.organisation_scope(contractor.pk),
    ]
    key_ids = {keys.current_key(scope)[0] for scope in scopes}
    assert len(key_ids) == len(scopes)
    own = DataKey.objects.get(organisation=ward, contract__isnull=True)
    assert own.scope == vault.organisation_scope(ward.pk)


def test_organisation_scope_round_trip(ward):
    scope = vault.organisation_scope(ward.pk)
    blob = encrypt(scope, "accounts:totp-seed:3", b"seed")
    assert decrypt(scope, "accounts:totp-seed:3", blob) == b"seed"


@pytest.mark.parametrize("where", [0, 1, 16, 17, 28, 29, -17, -1], ids=lambda i: f"byte{i}")
def test_a_flipped_bit_anywhere_is_refused(ward_scope, where):
    """Version, key id, nonce, ciphertext and tag: each is checked."""
    blob = bytearray(encrypt(ward_scope, CONTEXT, b"some personal data"))
    blob[where] ^= 0x01
    with pytest.raises(DecryptionFailed):
        decrypt(ward_scope, CONTEXT, bytes(blob))


def test_cut_or_foreign_blobs_are_refused(ward_scope):
    blob = encrypt(ward_scope, CONTEXT, b"data")
    for bad in (b"", blob[:1], blob[:28], blob[:-1], blob + b"\x00", b"\x09" + blob[1:]):
        with pytest.raises(DecryptionFailed):
            decrypt(ward_scope, CONTEXT, bad)


def test_an_erased_key_says_so(contract, ward_scope):
    blob = encrypt(ward_scope, CONTEXT, b"data")
    vault.destroy_contract_keys(contract, contract.ward)
    with pytest.raises(KeyUnavailable):
        decrypt(ward_scope, CONTEXT, blob)
    with pytest.raises(KeyUnavailable):
        encrypt(ward_scope, CONTEXT, b"new data")  # no new key behind an erasure's back


def test_blind_index_follows_the_scope(ward_scope, contractor_scope, ward):
    text = "髙橋 﨑太郎|梅田1-3"
    assert vault.blind_index(ward_scope, text) == vault.blind_index(ward_scope, text)
    others = {
        vault.blind_index(contractor_scope, text),
        vault.blind_index(vault.organisation_scope(ward.pk), text),
        vault.blind_index(ward_scope, text + " "),
    }
    assert vault.blind_index(ward_scope, text) not in others
    assert len(others) == 3


def test_wrapped_secrets_are_bound_to_their_context():
    blob = vault.wrap_secret("org-keys:shinjuku", b"secret key file")
    assert blob[0] == encryption.WRAPPED_V1 and b"secret key file" not in blob
    assert vault.unwrap_secret("org-keys:shinjuku", blob) == b"secret key file"
    with pytest.raises(DecryptionFailed):
        vault.unwrap_secret("org-keys:servicer", blob)
    flipped = bytearray(blob)
    flipped[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        vault.unwrap_secret("org-keys:shinjuku", bytes(flipped))
    other_master = vault.MasterKey("other", os.urandom(32))
    with pytest.raises(DecryptionFailed):
        vault.unwrap_secret("org-keys:shinjuku", blob, other_master)


def test_formats_cannot_be_read_as_one_another(ward_scope):
    wrapped = vault.wrap_secret(CONTEXT, b"x" * 40)
    with pytest.raises(DecryptionFailed):
        decrypt(ward_scope, CONTEXT, wrapped)
    with pytest.raises(DecryptionFailed):
        vault.unwrap_secret(CONTEXT, encrypt(ward_scope, CONTEXT, b"x" * 40))


def test_an_import_runs_file_moved_to_another_run_or_purpose_is_refused(contract):
    """The intake's use: each run's file and report are bound to the run and the purpose."""
    from genchi.intake.models import ImportRun
    from genchi.intake.services import check_run, create_run, report_of

    first = create_run(contract, "氏名,住所\n".encode(), filename="a.csv")
    second = create_run(contract, "氏名,住所\n".encode(), filename="b.csv")
    assert "氏名".encode() not in bytes(first.payload)
    ImportRun.objects.filter(pk=second.pk).update(payload=first.payload)  # another row
    ImportRun.objects.filter(pk=first.pk).update(report=first.payload)  # another purpose
    second.refresh_from_db()
    first.refresh_from_db()
    with pytest.raises(DecryptionFailed):
        check_run(second)
    with pytest.raises(DecryptionFailed):
        report_of(first)

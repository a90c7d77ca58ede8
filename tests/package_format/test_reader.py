"""Reading packages: round trips, the envelope checks (recipient, contract, kind, sender,
replay), refusals that store nothing, a file swapped between the passes, inspection."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path

import pytest

from genchi.package_format import reader, writer
from genchi.package_format.errors import Refused
from genchi.package_format.records import blank_result
from tests.package_format.crafting import craft
from tests.package_format.packages import (
    CASES,
    CONTRACT,
    RESULT_COLUMNS,
    decrypt_archive,
    members_of,
    open_cases,
    refused,
    write_cases,
    write_results,
)


def test_cases_round_trip_x25519(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    assert written.path.parent == pkg_out and written.path.name.endswith(".genchi.age")
    assert sorted(p.name for p in pkg_out.iterdir()) == [written.path.name]  # no temp left
    # The package digest is the SHA-256 of the signed manifest.json as stored in the archive.
    stored = members_of(decrypt_archive(keys := pkg_keys, written.path))["manifest.json"]
    assert stored == written.manifest.to_bytes()
    assert written.digest == hashlib.sha256(stored).hexdigest()
    assert reader.package_digest(stored) == written.digest
    assert reader.file_sha256(written.path) == hashlib.sha256(written.path.read_bytes()).hexdigest()
    assert reader.file_sha256(written.path) != written.digest
    assert written.record_count == len(CASES)
    assert written.size == written.path.stat().st_size
    assert (written.path.stat().st_mode & 0o777) == 0o600

    pkg = open_cases(keys, written.path)
    assert pkg.package_id == written.package_id
    assert pkg.digest == written.digest
    m = pkg.manifest
    assert (m.kind, m.contract, m.batch, m.sender, m.recipient) == (
        "cases",
        CONTRACT,
        "B001",
        "WARD01",
        "CON01",
    )
    assert m.record_count == len(CASES) and m.photo_count == 0
    assert [e.name for e in m.members] == ["records.jsonl", "records.csv"]
    assert list(pkg.iter_records()) == CASES
    contents = pkg.read_all()
    assert contents.records == CASES and contents.photos == []
    assert contents.digest == written.digest


def test_results_round_trip_with_photos_passphrase(pkg_keys, pkg_out, tmp_path):
    photos = []
    for i, size in enumerate([0, 1, 65536, 200_003]):
        p = tmp_path / f"src{i}.jpg"
        p.write_bytes(os.urandom(size))
        photos.append(writer.PhotoSource(p, f"C000{i}/house-{i}.jpg"))
    answered = str(uuid.uuid4())
    records = [
        blank_result("C0000") | {"outcome": "resident_confirmed", "visit_count": 2},
        blank_result("C0001") | {"outcome": "not_resident", "tenure": "rented"},
    ]
    written = writer.write_package(
        kind="results",
        contract=CONTRACT,
        sender="CON01",
        recipient="WARD01",
        answers=answered,
        records=records,
        csv_columns=RESULT_COLUMNS,
        photos=photos,
        signing_key=pkg_keys["contractor"].signing,
        out_dir=pkg_out,
        passphrase="区の指定するパスワード",
        scrypt_work_factor=10,
    )
    dest = tmp_path / "photos"
    contents = reader.read_package(
        written.path,
        sender_key=pkg_keys["contractor"].signing.public_key_bytes,
        expected_contract=CONTRACT,
        expected_recipient="WARD01",
        already_imported=set(),
        expected_kind="results",
        expected_sender="CON01",
        passphrase="区の指定するパスワード",
        photos_dir=dest,
    )
    assert contents.manifest.answers == answered
    assert contents.records == records
    assert [p.name for p in contents.photos] == [f"photos/{s.name}" for s in photos]
    for src, got in zip(photos, contents.photos, strict=True):
        assert got.path == dest / src.name
        assert got.path.read_bytes() == Path(src.path).read_bytes()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # staging removed


def test_certificate_round_trip(pkg_keys, pkg_out):
    cert = [
        {"contract": CONTRACT, "destroyed_key": "ab" * 32, "erased_at": "2027-03-31T10:00:00+09:00"}
    ]
    written = writer.write_package(
        kind="certificate",
        contract=CONTRACT,
        sender="CON01",
        recipient="WARD01",
        records=cert,
        csv_columns=[
            ("contract", "契約"),
            ("destroyed_key", "破棄した鍵"),
            ("erased_at", "消去日時"),
        ],
        signing_key=pkg_keys["contractor"].signing,
        out_dir=pkg_out,
        recipients=pkg_keys["ward"].encryption.recipient,
    )
    contents = reader.read_package(
        written.path,
        sender_key=pkg_keys["contractor"].public_card(),
        expected_contract=CONTRACT,
        expected_recipient="WARD01",
        already_imported=set(),
        identity=pkg_keys["ward"].encryption,
        expected_kind="certificate",
    )
    assert contents.records == cert


def test_replayed_package(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    refused("replayed", open_cases, pkg_keys, written.path, already_imported={written.package_id})
    refused(
        "replayed",
        open_cases,
        pkg_keys,
        written.path,
        already_imported=lambda pid: pid == written.package_id,
    )
    open_cases(pkg_keys, written.path, already_imported=lambda pid: False)


def test_wrong_contract_recipient_kind_sender(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    refused("wrong_contract", open_cases, pkg_keys, written.path, expected_contract="K2026-999")
    refused("wrong_recipient", open_cases, pkg_keys, written.path, expected_recipient="OTHER9")
    refused("wrong_kind", open_cases, pkg_keys, written.path, expected_kind="results")
    refused("wrong_sender", open_cases, pkg_keys, written.path, expected_sender="OTHER9")


def test_refusals_store_nothing_and_are_logged(pkg_keys, pkg_out, tmp_path, caplog):
    src = tmp_path / "p.jpg"
    src.write_bytes(os.urandom(300_000))
    written = write_results(pkg_keys, pkg_out, [(src, "C0001/p.jpg")])
    data = bytearray(written.path.read_bytes())
    data[-70_000] ^= 0xFF  # inside the photo, near the end of the file
    bad = tmp_path / "bad.age"
    bad.write_bytes(data)
    dest = tmp_path / "dest"
    dest.mkdir()
    caplog.set_level(logging.WARNING, logger="genchi.package_format")
    with pytest.raises(Refused) as info:
        reader.read_package(
            bad,
            sender_key=pkg_keys["contractor"].public_card(),
            expected_contract=CONTRACT,
            expected_recipient="WARD01",
            already_imported=set(),
            identity=pkg_keys["ward"].encryption,
            photos_dir=dest,
        )
    assert info.value.code == "tampered"
    assert list(dest.iterdir()) == []
    assert "package refused: code=tampered" in caplog.text
    assert "山田" not in caplog.text


def test_file_swapped_after_verification(pkg_keys, pkg_out, tmp_path):
    first = write_cases(pkg_keys, pkg_out)
    second = write_cases(pkg_keys, pkg_out, records=CASES[:5])
    pkg = open_cases(pkg_keys, first.path)
    shutil.copyfile(second.path, first.path)
    refused("tampered", pkg.read_all)
    with pytest.raises(Refused) as info:
        list(pkg.iter_records())
    assert info.value.code == "tampered"


def test_inspect_package(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    bare = reader.inspect_package(written.path)
    assert (bare.encryption, bare.stanza_count, bare.manifest, bare.signature) == (
        "x25519",
        1,
        None,
        "not_checked",
    )
    # Without a key: the file's own SHA-256 (as sha256sum prints it), no digest.
    assert bare.file_sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()
    assert bare.digest is None and bare.size == written.size
    ident = pkg_keys["contractor"].encryption
    full = reader.inspect_package(
        written.path, identity=ident, sender_key=pkg_keys["ward"].public_card()
    )
    assert full.signature == "valid" and full.manifest == written.manifest
    assert full.digest == written.digest and full.file_sha256 == bare.file_sha256
    assert "山田" not in repr(full)  # no personal data
    other = reader.inspect_package(
        written.path, identity=ident, sender_key=pkg_keys["other"].public_card()
    )
    assert other.signature == "invalid"
    unsigned = craft(pkg_keys, pkg_out, drop={"manifest.sig"})
    assert reader.inspect_package(unsigned, identity=ident).signature == "unsigned"
    locked = write_cases(pkg_keys, pkg_out, recipients=(), passphrase="pw", scrypt_work_factor=10)
    assert reader.inspect_package(locked.path).encryption == "scrypt"

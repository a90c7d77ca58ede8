"""The package format (D4): round trips, interoperability with age, and every refusal.

Plain pytest, no database. The `age` command tests are skipped only if the binary is missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pty
import random
import shutil
import subprocess
import sys
import tarfile
import textwrap
import uuid
from pathlib import Path

import pyrage
import pytest

from genchi.transfer import age, package
from genchi.transfer.errors import PackageRefused
from genchi.transfer.keys import OrganisationKeys, generate_organisation_keys
from genchi.transfer.manifest import canonical_json

AGE = shutil.which("age")
needs_age = pytest.mark.skipif(AGE is None, reason="the age command is not installed")

CONTRACT = "K2026-001"
CASES = [
    {
        "case_ref": f"C{i:04d}",
        "postal_code": "160-0022",
        "address": "東京都新宿区新宿一丁目1番1号",
        "building_line": "メゾン新宿 101" if i % 2 else "",
        "name": "山田 太郎",
    }
    for i in range(40)
]
RESULT_COLUMNS = [("case_ref", "案件番号"), ("outcome", "調査結果"), ("visits", "訪問回数")]


@pytest.fixture(scope="module")
def pkg_keys() -> dict[str, OrganisationKeys]:
    return {
        "ward": generate_organisation_keys("WARD01", "新宿区 税務課"),
        "contractor": generate_organisation_keys("CON01", "テストサービサー株式会社"),
        "other": generate_organisation_keys("OTHER9", "別の事業者"),
    }


@pytest.fixture
def pkg_out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


def write_cases(keys, out: Path, records=CASES, **kw) -> package.WrittenPackage:
    args = dict(
        kind="cases",
        contract=CONTRACT,
        sender="WARD01",
        recipient="CON01",
        batch="B001",
        records=iter(records),
        signing_key=keys["ward"].signing,
        out_dir=out,
        recipients=[keys["contractor"].encryption.recipient],
    )
    args.update(kw)
    return package.write_package(**args)


def write_results(keys, out: Path, photos, case_ref: str = "C0001", **kw):
    """A result package from the contractor to the ward with one record and `photos`."""
    args = dict(
        kind="results",
        contract=CONTRACT,
        sender="CON01",
        recipient="WARD01",
        records=[{"case_ref": case_ref}],
        csv_columns=[("case_ref", "案件番号")],
        photos=photos,
        signing_key=keys["contractor"].signing,
        out_dir=out,
        recipients=[keys["ward"].encryption.recipient],
    )
    args.update(kw)
    return package.write_package(**args)


def open_cases(keys, path: Path, **kw) -> package.VerifiedPackage:
    args = dict(
        sender_key=keys["ward"].public_card(),
        expected_contract=CONTRACT,
        expected_recipient="CON01",
        identity=keys["contractor"].encryption.identity,
        already_imported=set(),
    )
    args.update(kw)
    return package.open_package(path, **args)


def refused(code: str, fn, *args, **kw) -> PackageRefused:
    with pytest.raises(PackageRefused) as info:
        fn(*args, **kw)
    assert info.value.code == code, (info.value.code, info.value.message, info.value.detail)
    assert any(ord(c) > 0x3000 for c in info.value.message)  # a Japanese reason
    return info.value


def decrypt_archive(keys, path: Path) -> bytes:
    with open(path, "rb") as fh:
        return age.AgeReader(fh, identities=[keys["contractor"].encryption.identity]).read()


def members_of(tar_bytes: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers()}


# --- round trips -----------------------------------------------------------------------


def test_cases_round_trip_x25519(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    assert written.path.parent == pkg_out and written.path.name.endswith(".genchi.age")
    assert sorted(p.name for p in pkg_out.iterdir()) == [written.path.name]  # no temp left
    # The package digest is the SHA-256 of the signed manifest.json as stored in the archive.
    stored = members_of(decrypt_archive(keys := pkg_keys, written.path))["manifest.json"]
    assert stored == written.manifest.to_bytes()
    assert written.digest == written.sha256 == hashlib.sha256(stored).hexdigest()
    assert package.package_digest(stored) == written.digest
    assert (
        package.file_sha256(written.path) == hashlib.sha256(written.path.read_bytes()).hexdigest()
    )
    assert package.file_sha256(written.path) != written.digest
    assert written.record_count == len(CASES)
    assert written.size == written.path.stat().st_size
    assert (written.path.stat().st_mode & 0o777) == 0o600

    pkg = open_cases(keys, written.path)
    assert pkg.package_id == written.package_id
    assert pkg.digest == pkg.sha256 == written.digest
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
    assert contents.digest == contents.sha256 == written.digest


def test_results_round_trip_with_photos_passphrase(pkg_keys, pkg_out, tmp_path):
    photos = []
    for i, size in enumerate([0, 1, 65536, 200_003]):
        p = tmp_path / f"src{i}.jpg"
        p.write_bytes(os.urandom(size))
        photos.append(package.PhotoSource(p, f"C000{i}/house-{i}.jpg"))
    answered = str(uuid.uuid4())
    records = [
        {"case_ref": "C0000", "outcome": "居住確認", "visits": 2, "nameplate": "本人"},
        {"case_ref": "C0001", "outcome": "不居住", "visits": 1, "notes": None},
    ]
    written = package.write_package(
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
    contents = package.read_package(
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


@pytest.mark.parametrize("count", [1, 700])
def test_photo_layouts_where_the_manifest_chunks_are_written_last(
    pkg_keys, pkg_out, tmp_path, count
):
    """One tiny photo (the whole archive is one, final, chunk) and 700 photos (the manifest
    spans two chunks): the chunks written in place at the end are valid for age too."""
    src = tmp_path / "src"
    src.mkdir()
    photos = []
    for i in range(count):
        p = src / f"{i}.jpg"
        p.write_bytes(i.to_bytes(4, "big") * 3)
        photos.append((p, f"C{i:04d}/1.jpg"))
    written = write_results(pkg_keys, pkg_out, photos, case_ref="C0000")
    with open(written.path, "rb") as fh:
        plain = age.AgeReader(fh, identities=[pkg_keys["ward"].encryption.identity]).read()
    archive = members_of(plain)
    assert written.digest == hashlib.sha256(archive["manifest.json"]).hexdigest()
    if count == 700:
        assert len(written.manifest.to_bytes()) > age.CHUNK_SIZE
    dest = tmp_path / "dest"
    contents = package.read_package(
        written.path,
        sender_key=pkg_keys["contractor"].public_card(),
        expected_contract=CONTRACT,
        expected_recipient="WARD01",
        identity=pkg_keys["ward"].encryption,
        already_imported=set(),
        photos_dir=dest,
    )
    assert len(contents.photos) == count
    assert contents.digest == written.digest
    assert all(
        p.path.read_bytes() == Path(s).read_bytes()
        for p, (s, _) in zip(contents.photos, photos, strict=True)
    )
    if AGE:
        key = tmp_path / "key.txt"
        key.write_text(pkg_keys["ward"].encryption.identity + "\n")
        plain = subprocess.run(
            [AGE, "-d", "-i", str(key), str(written.path)], check=True, capture_output=True
        ).stdout
        assert len(members_of(plain)) == count + 4


def test_certificate_round_trip(pkg_keys, pkg_out):
    cert = [
        {"contract": CONTRACT, "destroyed_key": "ab" * 32, "erased_at": "2027-03-31T10:00:00+09:00"}
    ]
    written = package.write_package(
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
    contents = package.read_package(
        written.path,
        sender_key=pkg_keys["contractor"].public_card(),
        expected_contract=CONTRACT,
        expected_recipient="WARD01",
        already_imported=set(),
        identity=pkg_keys["ward"].encryption,
        expected_kind="certificate",
    )
    assert contents.records == cert


def test_csv_is_bom_crlf_and_formula_safe(pkg_keys, pkg_out):
    risky = dict(
        CASES[0], postal_code="=1+1", address="@SUM(A1)", building_line="-危険", name="+鈴木"
    )
    risky2 = dict(
        CASES[1], case_ref="C9999", address="\t東京都", name="\r山田", building_line="改行\nあり"
    )
    written = write_cases(pkg_keys, pkg_out, records=[risky, risky2])
    members = members_of(decrypt_archive(pkg_keys, written.path))
    raw = members["records.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 3  # header and two rows; the LF inside a cell stays bare
    text = raw.decode("utf-8-sig")
    import csv

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["案件番号", "郵便番号", "住所", "方書", "氏名"]
    assert rows[1] == ["C0000", "'=1+1", "'@SUM(A1)", "'-危険", "'+鈴木"]
    assert rows[2][2] == "'\t東京都" and rows[2][4] == "'\r山田" and rows[2][3] == "改行\nあり"
    # The JSON Lines member keeps the values as they are.
    lines = members["records.jsonl"].decode().splitlines()
    assert json.loads(lines[0])["postal_code"] == "=1+1"
    assert open_cases(pkg_keys, written.path).read_all().records == [risky, risky2]


def test_archive_layout_and_signature_are_standard(pkg_keys, pkg_out):
    """Member order, canonical manifest, raw Ed25519 signature, 64 KiB padding."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    written = write_cases(pkg_keys, pkg_out)
    plain = decrypt_archive(pkg_keys, written.path)
    assert len(plain) % (64 * 1024) == 0
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tf:
        infos = tf.getmembers()
        assert [i.name for i in infos] == [
            "manifest.json",
            "manifest.sig",
            "records.jsonl",
            "records.csv",
        ]
        assert all(i.isreg() and i.mode == 0o644 for i in infos)
        manifest = tf.extractfile("manifest.json").read()
        sig = tf.extractfile("manifest.sig").read()
    Ed25519PublicKey.from_public_bytes(pkg_keys["ward"].signing.public_key_bytes).verify(
        sig, manifest
    )
    obj = json.loads(manifest)
    assert canonical_json(obj) == manifest
    assert obj["format"] == "genchi-package" and obj["format_version"] == 1
    assert obj["record_schema"] == "genchi/cases/v1"
    assert (
        obj["signing_key"] == hashlib.sha256(pkg_keys["ward"].signing.public_key_bytes).hexdigest()
    )


# --- interoperability --------------------------------------------------------------------


@needs_age
def test_age_command_decrypts_a_genchi_package(pkg_keys, pkg_out, tmp_path):
    written = write_cases(pkg_keys, pkg_out)
    key = tmp_path / "key.txt"
    key.write_text(pkg_keys["contractor"].encryption.identity + "\n")
    plain = tmp_path / "plain.tar"
    subprocess.run([AGE, "-d", "-i", str(key), "-o", str(plain), str(written.path)], check=True)
    listing = subprocess.run(["tar", "-tf", str(plain)], check=True, capture_output=True, text=True)
    assert listing.stdout.split() == [
        "manifest.json",
        "manifest.sig",
        "records.jsonl",
        "records.csv",
    ]
    members = members_of(plain.read_bytes())
    assert [json.loads(line) for line in members["records.jsonl"].splitlines()] == CASES


@needs_age
def test_package_digest_with_standard_tools(pkg_keys, pkg_out, tmp_path):
    """docs/package-format.md: age -d … | tar -xO manifest.json | sha256sum gives the
    digest printed on the handover slip, byte for byte."""
    written = write_cases(pkg_keys, pkg_out)
    key = tmp_path / "key.txt"
    key.write_text(pkg_keys["contractor"].encryption.identity + "\n")
    script = '"$0" -d -i "$1" "$2" | tar -xO manifest.json | sha256sum'
    out = subprocess.run(
        ["sh", "-c", script, AGE, str(key), str(written.path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.split()[0] == written.digest


@pytest.mark.parametrize(
    "size",
    [0, 1, age.CHUNK_SIZE - 1, age.CHUNK_SIZE, age.CHUNK_SIZE + 1, 17 * age.CHUNK_SIZE, 3 << 20],
)
def test_age_file_writer_any_order_any_size(pkg_keys, tmp_path, size):
    """Chunks written in any order, alone or in runs, give the same valid age file: our
    reader and pyrage (rage) both decrypt it; the empty file is one empty last chunk."""
    ident = pkg_keys["contractor"].encryption
    data = os.urandom(size)
    path = tmp_path / "w.age"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        w = age.AgeFileWriter(fd, size, recipients=[ident.recipient])
        runs = [(c, min(c + 3, w.chunk_count)) for c in range(0, w.chunk_count, 3)]
        random.Random(size).shuffle(runs)
        for first, end in runs:
            w.write(first, data[first * age.CHUNK_SIZE : end * age.CHUNK_SIZE])
    finally:
        os.close(fd)
    raw = path.read_bytes()
    assert len(raw) == w.file_size
    with open(path, "rb") as fh:
        assert age.AgeReader(fh, identities=[ident.identity]).read() == data
    assert pyrage.decrypt(raw, [pyrage.x25519.Identity.from_str(ident.identity)]) == data


def test_age_file_writer_refuses_partial_chunks_and_overruns(pkg_keys, tmp_path):
    ident = pkg_keys["contractor"].encryption
    fd = os.open(tmp_path / "w.age", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        w = age.AgeFileWriter(fd, 3 * age.CHUNK_SIZE + 5, recipients=[ident.recipient])
        with pytest.raises(ValueError, match="whole chunks"):
            w.write(0, bytes(age.CHUNK_SIZE + 1))  # a partial chunk that is not the file's end
        with pytest.raises(ValueError, match="outside"):
            w.write(3, bytes(6))  # beyond the end
        with pytest.raises(ValueError, match="outside"):
            w.write(-1, bytes(age.CHUNK_SIZE))
        w.write(3, bytes(5))  # the last, partial chunk is fine
    finally:
        os.close(fd)


@needs_age
def test_genchi_reads_a_package_the_age_command_encrypted(pkg_keys, pkg_out, tmp_path):
    written = write_cases(pkg_keys, pkg_out)
    plain = tmp_path / "plain.tar"
    plain.write_bytes(decrypt_archive(pkg_keys, written.path))
    by_cli = tmp_path / "by-cli.age"
    recipient = pkg_keys["contractor"].encryption.recipient
    subprocess.run([AGE, "-r", recipient, "-o", str(by_cli), str(plain)], check=True)
    pkg = open_cases(pkg_keys, by_cli)
    assert pkg.package_id == written.package_id
    assert pkg.read_all().records == CASES


def test_pyrage_interop_both_ways(pkg_keys, pkg_out, tmp_path):
    """rage (through pyrage) is a second, independent age implementation."""
    written = write_cases(
        pkg_keys, pkg_out, recipients=(), passphrase="pw-テスト", scrypt_work_factor=12
    )
    plain = pyrage.passphrase.decrypt(written.path.read_bytes(), "pw-テスト")
    assert "records.jsonl" in members_of(plain)

    ident = pyrage.x25519.Identity.from_str(pkg_keys["contractor"].encryption.identity)
    by_rage = tmp_path / "by-rage.age"
    by_rage.write_bytes(pyrage.encrypt(plain, [ident.to_public()]))
    assert open_cases(pkg_keys, by_rage).read_all().records == CASES


@needs_age
def test_age_command_passphrase_mode_both_ways(pkg_keys, pkg_out, tmp_path):
    """The age command reads passphrases from a terminal only, so it is driven through a pty."""
    secret = "passphrase-for-the-usb-stick"
    written = write_cases(
        pkg_keys, pkg_out, recipients=(), passphrase=secret, scrypt_work_factor=12
    )
    plain = tmp_path / "plain.tar"
    run_age_with_passphrase(["-d", "-o", str(plain), str(written.path)], secret)
    assert members_of(plain.read_bytes())["records.jsonl"].count(b"\n") == len(CASES)

    by_cli = tmp_path / "by-cli.age"
    run_age_with_passphrase(["-p", "-o", str(by_cli), str(plain)], secret, confirm=True)
    assert (
        open_cases(pkg_keys, by_cli, identity=None, passphrase=secret).read_all().records == CASES
    )


def run_age_with_passphrase(args: list[str], secret: str, confirm: bool = False) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # child: age talks to the pty as its terminal
        os.execv(AGE, [AGE, *args])  # noqa: S606
    output = b""
    answers = 2 if confirm else 1
    try:
        while True:
            try:
                data = os.read(fd, 1024)
            except OSError:
                break
            if not data:
                break
            output += data
            if answers and output.lower().count(b"passphrase") > (2 if confirm else 1) - answers:
                os.write(fd, secret.encode() + b"\n")
                answers -= 1
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, output.decode(errors="replace")


# --- refusals: keys and bytes ---------------------------------------------------------


def test_wrong_identity_or_passphrase(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    refused(
        "wrong_key",
        open_cases,
        pkg_keys,
        written.path,
        identity=pkg_keys["other"].encryption.identity,
    )
    refused("wrong_key", open_cases, pkg_keys, written.path, identity=None, passphrase="x")
    locked = write_cases(
        pkg_keys, pkg_out, recipients=(), passphrase="正しい", scrypt_work_factor=10
    )
    refused("wrong_key", open_cases, pkg_keys, locked.path, identity=None, passphrase="間違い")
    refused("wrong_key", open_cases, pkg_keys, locked.path)  # a key where a password is needed


def test_every_flipped_byte_is_refused(pkg_keys, pkg_out, tmp_path):
    written = write_cases(pkg_keys, pkg_out, records=CASES * 60)  # several age chunks
    data = written.path.read_bytes()
    header_end = data.index(b"\n--- ") + 1 + 48  # "--- " + 43 base64 + LF
    payload = range(header_end, len(data))
    positions = sorted(
        {*range(0, header_end, 7), *payload[:: max(1, len(payload) // 60)], len(data) - 1}
    )
    bad = tmp_path / "bad.age"
    for pos in positions:
        flipped = bytearray(data)
        flipped[pos] ^= 0x01
        bad.write_bytes(flipped)
        with pytest.raises(PackageRefused) as info:
            open_cases(pkg_keys, bad)
        if pos >= header_end:
            assert info.value.code == "tampered", pos
        else:  # in the header: the MAC, a stanza or the version line
            assert info.value.code in {"tampered", "wrong_key", "unknown_format"}, pos


def test_truncated_files_are_refused(pkg_keys, pkg_out, tmp_path):
    written = write_cases(pkg_keys, pkg_out, records=CASES * 60)
    data = written.path.read_bytes()
    header_end = data.index(b"\n--- ") + 1 + 48
    chunk = age.ENCRYPTED_CHUNK_SIZE
    cuts = [
        5,  # inside the version line
        header_end - 10,  # inside the header
        header_end + 8,  # inside the payload nonce
        header_end + 16,  # no chunk at all
        header_end + 16 + chunk,  # at a chunk boundary
        header_end + 16 + chunk + 1000,  # inside a chunk
        len(data) - 1,  # one byte missing
    ]
    assert len(data) > header_end + 16 + 2 * chunk
    bad = tmp_path / "cut.age"
    for cut in cuts:
        bad.write_bytes(data[:cut])
        refused("truncated", open_cases, pkg_keys, bad)
    bad.write_bytes(b"")  # an empty file: the copy never happened
    refused("truncated", open_cases, pkg_keys, bad)


def test_trailing_garbage_is_refused(pkg_keys, pkg_out, tmp_path):
    written = write_cases(pkg_keys, pkg_out)
    bad = tmp_path / "long.age"
    bad.write_bytes(written.path.read_bytes() + b"\x00" * 10)
    with pytest.raises(PackageRefused) as info:
        open_cases(pkg_keys, bad)
    assert info.value.code in {"tampered", "truncated"}


def test_not_a_package(pkg_keys, tmp_path):
    junk = tmp_path / "junk.age"
    junk.write_bytes(os.urandom(1000))
    refused("unknown_format", open_cases, pkg_keys, junk)
    armored = tmp_path / "armored.age"
    armored.write_text(
        "-----BEGIN AGE ENCRYPTED FILE-----\nYWJj\n-----END AGE ENCRYPTED FILE-----\n"
    )
    refused("unknown_format", open_cases, pkg_keys, armored)
    refused("unknown_format", open_cases, pkg_keys, tmp_path / "missing.age")


def test_excessive_scrypt_work_factor_is_refused(pkg_keys, pkg_out):
    locked = write_cases(pkg_keys, pkg_out, recipients=(), passphrase="pw", scrypt_work_factor=12)
    refused(
        "unknown_format",
        open_cases,
        pkg_keys,
        locked.path,
        identity=None,
        passphrase="pw",
        max_scrypt_work_factor=11,
    )


# --- refusals: envelope ------------------------------------------------------------------


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


def test_signed_by_another_key(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out, signing_key=pkg_keys["other"].signing)
    refused("bad_signature", open_cases, pkg_keys, written.path)


# --- refusals: crafted archives ------------------------------------------------------------


def entry(
    name: str, data: bytes = b"", type_=tarfile.REGTYPE, linkname: str = ""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = linkname
    info.size = len(data) if type_ == tarfile.REGTYPE else 0
    info.mode = 0o644
    return info, data


def craft(
    keys,
    out: Path,
    *,
    extra: list | None = None,
    drop: set[str] = frozenset(),
    manifest_edit=None,
    records: list | None = None,
    before_records: list | None = None,
    sign_with=None,
    signature: bytes | None = None,
    photos: dict[str, bytes] | None = None,
    kind: str = "cases",
    cols: list[tuple[str, str]] | None = None,
) -> Path:
    """A package built by hand, as an attacker or a faulty implementation might."""
    records = CASES[:3] if records is None else records
    jsonl = b"".join(
        (json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()
        for r in records
    )
    cols = cols or [
        ("case_ref", "案件番号"),
        ("postal_code", "郵便番号"),
        ("address", "住所"),
        ("building_line", "方書"),
        ("name", "氏名"),
    ]
    csv_text = "\ufeff" + "".join(",".join(h for _, h in cols) + "\r\n" for _ in [0])
    csv_text += "".join(",".join(str(r.get(k, "")) for k, _ in cols) + "\r\n" for r in records)
    csv_bytes = csv_text.encode()
    photos = photos or {}
    members = [
        ("records.jsonl", jsonl),
        ("records.csv", csv_bytes),
        *((f"photos/{n}", d) for n, d in photos.items()),
    ]
    manifest = {
        "format": "genchi-package",
        "format_version": 1,
        "package_id": str(uuid.uuid4()),
        "kind": kind,
        "record_schema": f"genchi/{kind}/v1",
        "contract": CONTRACT,
        "batch": None,
        "sender": "WARD01",
        "recipient": "CON01",
        "created_at": "2026-06-01T09:00:00+09:00",
        "answers": None,
        "record_count": len(records),
        "photo_count": len(photos),
        "csv_columns": [{"header": h, "key": k} for k, h in cols],
        "members": [
            {"name": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in members
        ],
        "signing_key": hashlib.sha256(keys["ward"].signing.public_key_bytes).hexdigest(),
    }
    if manifest_edit:
        manifest_edit(manifest)
    manifest_bytes = canonical_json(manifest)
    sig = (
        signature
        if signature is not None
        else (sign_with or keys["ward"].signing).private_key.sign(manifest_bytes)
    )
    entries = [entry("manifest.json", manifest_bytes), entry("manifest.sig", sig)]
    entries += before_records or []
    entries += [entry(n, d) for n, d in members]
    entries += extra or []
    entries = [e for e in entries if e[0].name not in drop]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    path = out / f"crafted-{uuid.uuid4().hex[:8]}.age"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        plaintext = buf.getvalue()
        writer = age.AgeFileWriter(
            fd, len(plaintext), recipients=[keys["contractor"].encryption.recipient]
        )
        writer.write(0, plaintext)
    finally:
        os.close(fd)
    return path


def test_crafted_baseline_is_accepted(pkg_keys, pkg_out):
    """The crafting helper itself makes valid packages; each test below breaks one thing."""
    assert open_cases(pkg_keys, craft(pkg_keys, pkg_out)).read_all().records == CASES[:3]


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "/etc/passwd",
        "photos/../../evil",
        "photos/./x",
        "C:/evil",
        "photos\\..\\evil",
    ],
)
def test_path_traversal(pkg_keys, pkg_out, name):
    path = craft(pkg_keys, pkg_out, extra=[entry(name, b"x")])
    refused("path_traversal", open_cases, pkg_keys, path)


def test_path_traversal_before_the_records(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, before_records=[entry("../../etc/cron.d/x", b"x")])
    refused("path_traversal", open_cases, pkg_keys, path)


@pytest.mark.parametrize("type_", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_are_refused(pkg_keys, pkg_out, type_):
    path = craft(
        pkg_keys, pkg_out, extra=[entry("photos/x.jpg", type_=type_, linkname="/etc/passwd")]
    )
    refused("link_member", open_cases, pkg_keys, path)


@pytest.mark.parametrize(
    "type_", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.DIRTYPE]
)
def test_devices_and_directories_are_refused(pkg_keys, pkg_out, type_):
    path = craft(pkg_keys, pkg_out, extra=[entry("photos/dev", type_=type_)])
    refused("special_member", open_cases, pkg_keys, path)


def test_duplicate_member(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, extra=[entry("records.jsonl", b"{}\n")])
    refused("duplicate_member", open_cases, pkg_keys, path)


def test_unlisted_member(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, extra=[entry("photos/extra.jpg", b"jpeg")])
    refused("unexpected_member", open_cases, pkg_keys, path)


def test_missing_member(pkg_keys, pkg_out):
    refused("missing_member", open_cases, pkg_keys, craft(pkg_keys, pkg_out, drop={"records.csv"}))
    photos = {"C0001/1.jpg": b"jpeg-1", "C0001/2.jpg": b"jpeg-2"}
    path = craft(
        pkg_keys,
        pkg_out,
        kind="results",
        photos=photos,
        drop={"photos/C0001/2.jpg"},
        records=[{"case_ref": "C0001"}],
        cols=[("case_ref", "案件番号")],
    )
    refused("missing_member", open_cases, pkg_keys, path, expected_kind="results")


def test_hash_mismatch(pkg_keys, pkg_out):
    def wrong_hash(m):
        m["members"][0]["sha256"] = "0" * 64

    refused(
        "hash_mismatch", open_cases, pkg_keys, craft(pkg_keys, pkg_out, manifest_edit=wrong_hash)
    )

    def wrong_size(m):
        m["members"][1]["size"] += 1

    refused(
        "hash_mismatch", open_cases, pkg_keys, craft(pkg_keys, pkg_out, manifest_edit=wrong_size)
    )


def test_count_mismatch(pkg_keys, pkg_out):
    def more(m):
        m["record_count"] += 1

    refused("count_mismatch", open_cases, pkg_keys, craft(pkg_keys, pkg_out, manifest_edit=more))


def test_unsigned_and_badly_signed_manifest(pkg_keys, pkg_out):
    refused("unsigned", open_cases, pkg_keys, craft(pkg_keys, pkg_out, drop={"manifest.sig"}))
    path = craft(pkg_keys, pkg_out, sign_with=pkg_keys["other"].signing)
    refused("bad_signature", open_cases, pkg_keys, path)
    refused("bad_signature", open_cases, pkg_keys, craft(pkg_keys, pkg_out, signature=bytes(64)))
    refused("bad_signature", open_cases, pkg_keys, craft(pkg_keys, pkg_out, signature=b"short"))


def test_manifest_not_first(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, drop={"manifest.json", "manifest.sig"})
    refused("unknown_format", open_cases, pkg_keys, path)


def test_unknown_format_version(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, manifest_edit=lambda m: m.update(format_version=2))
    err = refused("unknown_format", open_cases, pkg_keys, path)
    assert "バージョン" in err.message


def test_case_records_hold_only_the_j3_items(pkg_keys, pkg_out):
    extra = [dict(CASES[0], birth_date="1970-01-01")]
    path = craft(pkg_keys, pkg_out, records=extra)
    refused("bad_record", open_cases, pkg_keys, path)
    with pytest.raises(ValueError, match="J3"):
        write_cases(pkg_keys, pkg_out, records=extra)
    assert list(pkg_out.iterdir()) == [path]  # the refused write left nothing


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
    caplog.set_level(logging.WARNING, logger="genchi.transfer")
    with pytest.raises(PackageRefused) as info:
        package.read_package(
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
    with pytest.raises(PackageRefused) as info:
        list(pkg.iter_records())
    assert info.value.code == "tampered"


# --- inspection, atomic writing, arguments --------------------------------------------------


def test_inspect_package(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    bare = package.inspect_package(written.path)
    assert (bare.encryption, bare.stanza_count, bare.manifest, bare.signature) == (
        "x25519",
        1,
        None,
        "not_checked",
    )
    # Without a key: the file's own SHA-256 (as sha256sum prints it), no digest.
    assert bare.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()
    assert bare.digest is None and bare.size == written.size
    ident = pkg_keys["contractor"].encryption
    full = package.inspect_package(
        written.path, identity=ident, sender_key=pkg_keys["ward"].public_card()
    )
    assert full.signature == "valid" and full.manifest == written.manifest
    assert full.digest == written.digest and full.sha256 == bare.sha256
    assert "山田" not in repr(full)  # no personal data
    other = package.inspect_package(
        written.path, identity=ident, sender_key=pkg_keys["other"].public_card()
    )
    assert other.signature == "invalid"
    unsigned = craft(pkg_keys, pkg_out, drop={"manifest.sig"})
    assert package.inspect_package(unsigned, identity=ident).signature == "unsigned"
    locked = write_cases(pkg_keys, pkg_out, recipients=(), passphrase="pw", scrypt_work_factor=10)
    assert package.inspect_package(locked.path).encryption == "scrypt"


def test_failed_write_leaves_nothing(pkg_keys, pkg_out, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        write_results(pkg_keys, pkg_out, [(tmp_path / "missing.jpg", "C0001/x.jpg")])
    # A photo that changes between the layout and packing is caught, the partial file removed.
    src = tmp_path / "p.jpg"
    src.write_bytes(b"x" * 100_000)
    real = package._photo_stat
    monkeypatch.setattr(package, "_photo_stat", lambda p: (real(p)[0], 1))
    with pytest.raises(ValueError, match="変更"):
        write_results(pkg_keys, pkg_out, [(src, "C0001/x.jpg")])
    assert list(pkg_out.iterdir()) == []


def test_bad_arguments(pkg_keys, pkg_out, tmp_path):
    with pytest.raises(ValueError):
        write_cases(pkg_keys, pkg_out, kind="other")
    with pytest.raises(ValueError):
        write_cases(pkg_keys, pkg_out, contract="../x")
    with pytest.raises(ValueError):
        write_cases(pkg_keys, pkg_out, recipients=["age1notakey"])
    with pytest.raises(ValueError):
        write_cases(pkg_keys, pkg_out, passphrase="both")
    with pytest.raises(ValueError, match="写真"):
        write_cases(pkg_keys, pkg_out, photos=[(tmp_path / "x", "a.jpg")])
    with pytest.raises(ValueError, match="写真の名前"):
        package.write_package(
            kind="results",
            contract=CONTRACT,
            sender="CON01",
            recipient="WARD01",
            records=[],
            csv_columns=[("case_ref", "案件番号")],
            photos=[(tmp_path / "x", "../x.jpg")],
            signing_key=pkg_keys["contractor"].signing,
            out_dir=pkg_out,
            recipients=[pkg_keys["ward"].encryption.recipient],
        )
    assert list(pkg_out.iterdir()) == []


def test_large_record_sets_spool_encrypted(pkg_keys, pkg_out, monkeypatch):
    """Records beyond the memory limit are staged on disk encrypted, and round-trip."""
    monkeypatch.setattr(package._Spool, "MEMORY_LIMIT", 10_000)
    records = [dict(CASES[0], case_ref=f"C{i:05d}") for i in range(3000)]
    written = write_cases(pkg_keys, pkg_out, records=records)
    assert open_cases(pkg_keys, written.path).read_all().records == records


# --- bounded memory --------------------------------------------------------------------------


BOUNDED_MEMORY_SCRIPT = textwrap.dedent(
    """
    import os, resource, sys, json
    from pathlib import Path
    from genchi.transfer import keys, package

    work = Path(sys.argv[1])
    photo = work / "big.jpg"
    with open(photo, "wb") as f:  # sparse: costs no disk, still 300 MB to encrypt and hash
        f.truncate(300 * 1024 * 1024)
    ward = keys.generate_organisation_keys("WARD01", "区")
    con = keys.generate_organisation_keys("CON01", "事業者")
    out = work / "out"
    out.mkdir()
    written = package.write_package(
        kind="results", contract="K1", sender="CON01", recipient="WARD01",
        records=({"case_ref": f"C{i}"} for i in range(500)),
        csv_columns=[("case_ref", "案件番号")],
        photos=[(photo, "C1/big.jpg")],
        signing_key=con.signing, out_dir=out, recipients=[ward.encryption.recipient],
    )
    def high_water_kb():
        # VmHWM is this process's own peak; ru_maxrss would include the parent's
        # (Linux keeps it across exec).
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    after_write = high_water_kb()
    contents = package.read_package(
        written.path, sender_key=con.public_card(), expected_contract="K1",
        expected_recipient="WARD01", already_imported=set(), identity=ward.encryption,
        photos_dir=work / "photos",
    )
    assert contents.photos[0].size == 300 * 1024 * 1024
    peak = high_water_kb()
    print(json.dumps({"after_write_kb": after_write, "peak_kb": peak, "size": written.size}))
    """
)


def test_bounded_memory_for_a_300_mb_package(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", BOUNDED_MEMORY_SCRIPT, str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["size"] > 300 * 1024 * 1024
    assert figures["peak_kb"] < 100 * 1024, figures


def test_write_error_midway_leaves_nothing(pkg_keys, pkg_out, tmp_path, monkeypatch):
    """A full stick while photos are being packed: the error surfaces and no partial file
    is left."""
    photos = []
    for i in range(6):
        src = tmp_path / f"p{i}.jpg"
        src.write_bytes(os.urandom(3 * 1024 * 1024))
        photos.append((src, f"C0001/{i}.jpg"))
    real_pwrite_all = package.age._pwrite_all
    calls = {"n": 0}

    def failing_pwrite_all(fd, data, offset):
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError(28, "No space left on device")
        real_pwrite_all(fd, data, offset)

    monkeypatch.setattr(package.age, "_pwrite_all", failing_pwrite_all)
    with pytest.raises(OSError, match="No space"):
        write_results(pkg_keys, pkg_out, photos)
    assert calls["n"] > 5  # it failed midway, after some writes went through
    assert list(pkg_out.iterdir()) == []


@pytest.mark.parametrize("victim_index", [0, 2])
@pytest.mark.parametrize("change", ["grown", "touched", "shrunk"])
def test_photo_changed_while_packing_is_refused(
    pkg_keys, pkg_out, tmp_path, monkeypatch, change, victim_index
):
    """The layout is fixed from each photo's size and mtime; a photo that changes before
    it is read is refused by name, and nothing is left behind."""
    photos = []
    for i in range(4):
        src = tmp_path / f"p{i}.jpg"
        src.write_bytes(os.urandom(300_000))
        photos.append((src, f"C0001/{i}.jpg"))
    victim = photos[victim_index][0]
    real_stat = package._photo_stat

    def stat_then_change(path):
        result = real_stat(path)
        if path == victim:
            if change == "grown":
                with open(victim, "ab") as f:
                    f.write(b"x")
            elif change == "shrunk":
                os.truncate(victim, 1000)
            else:
                os.utime(victim, ns=(result[1] + 10**9, result[1] + 10**9))
        return result

    monkeypatch.setattr(package, "_photo_stat", stat_then_change)
    with pytest.raises(ValueError, match=f"写真が書き出し中に変更されました: p{victim_index}.jpg"):
        write_results(pkg_keys, pkg_out, photos)
    assert list(pkg_out.iterdir()) == []

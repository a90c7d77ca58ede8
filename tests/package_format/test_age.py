"""The age layer: our writer and reader against the age command and rage (pyrage), both
ways and in both modes, and every damaged or foreign file refused with its code.

The `age` command tests are skipped only if the binary is missing."""

from __future__ import annotations

import json
import os
import pty
import random
import subprocess

import pyrage
import pytest

from genchi.package_format import age
from genchi.package_format.errors import Refused
from tests.package_format.packages import (
    AGE,
    CASES,
    decrypt_archive,
    members_of,
    needs_age,
    open_cases,
    refused,
    write_cases,
)


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
        with pytest.raises(Refused) as info:
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
    with pytest.raises(Refused) as info:
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


# --- age keys -----------------------------------------------------------------------------


def test_spec_vector_identity_to_recipient():
    """The X25519 example of the age specification (C2SP age.md)."""
    identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    assert age.parse_identity(identity) == b"\x42" * 32
    assert age.identity_to_recipient(identity) == (
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    )


def test_bech32_rejects_damage(pkg_keys):
    recipient = pkg_keys["ward"].encryption.recipient
    damaged = recipient[:-1] + ("q" if recipient[-1] != "q" else "p")
    with pytest.raises(ValueError):
        age.parse_recipient(damaged)
    with pytest.raises(ValueError):
        age.parse_recipient(recipient.upper()[:10] + recipient[10:])  # mixed case
    with pytest.raises(ValueError):
        age.parse_identity(recipient)

"""Unverified bytes are never parsed without bounds (issue 12): every hand-built case of
the probe is refused with a code, never a traceback.

- a manifest is parsed only after its signature verified, wherever the sender is known;
  parsed within limits anyway (NaN, Infinity, endless numbers, deep nesting, size);
- every age header field is bounded before it is split, decoded or converted;
- records.jsonl lines, key cards and secret key files are read within the same limits;
- inspection says exactly what it checked: a damaged later chunk is not "valid";
- the age writer never encrypts a chunk index twice (nonce reuse).
"""

from __future__ import annotations

import io
import os
import threading

import pytest

from genchi.package_format import age, manifest, reader
from genchi.package_format.errors import Refused
from genchi.package_format.keys import OrganisationKeys, parse_public_key_card
from tests.package_format.crafting import (
    HOSTILE_MANIFESTS,
    age_with_header,
    craft,
    scrypt_stanza,
)
from tests.package_format.packages import CASES, open_cases, refused, write_cases

HOSTILE = sorted(HOSTILE_MANIFESTS)


def hostile_package(keys, out, name: str, **kw):
    edit, _reason = HOSTILE_MANIFESTS[name]
    return craft(keys, out, manifest_bytes_edit=edit, **kw)


# --- the manifest ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_manifest_signed_by_the_sender_is_refused_with_a_code(name, pkg_keys, pkg_out):
    """A sender's key may sign anything (a faulty implementation, a stolen key): the
    parser still refuses the manifest, within bounds."""
    path = hostile_package(pkg_keys, pkg_out, name)
    reason = HOSTILE_MANIFESTS[name][1]
    refused("unknown_format", open_cases, pkg_keys, path, reason=reason)
    ward_card = pkg_keys["ward"].public_card()
    identity = pkg_keys["contractor"].encryption
    refused(
        "unknown_format",
        reader.read_signed_manifest,
        path,
        sender_keys=[ward_card],
        identity=identity,
        reason=reason,
    )
    # Inspection, which may not know the sender, parses within the same bounds.
    refused("unknown_format", reader.inspect_package, path, identity=identity, reason=reason)
    refused(
        "unknown_format",
        reader.inspect_package,
        path,
        identity=identity,
        sender_key=ward_card,
        reason=reason,
    )


@pytest.mark.parametrize("name", HOSTILE)
def test_a_manifest_no_trusted_key_signed_is_refused_unparsed(name, pkg_keys, pkg_out, monkeypatch):
    path = hostile_package(pkg_keys, pkg_out, name, sign_with=pkg_keys["other"].signing)
    if name == "huge":  # refused by its size, before it is read: nothing to sign-check
        refused("unknown_format", open_cases, pkg_keys, path, reason="manifest_too_large")
        return

    def never(data: bytes):
        raise AssertionError("an unverified manifest was parsed")

    monkeypatch.setattr(reader, "parse_manifest", never)
    refused("bad_signature", open_cases, pkg_keys, path)
    refused(
        "bad_signature",
        reader.read_signed_manifest,
        path,
        sender_keys=[pkg_keys["ward"].public_card(), pkg_keys["contractor"].public_card()],
        identity=pkg_keys["contractor"].encryption,
    )


def test_read_signed_manifest_says_which_key_signed(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    cards = [pkg_keys[name].public_card() for name in ("other", "ward")]
    signed = reader.read_signed_manifest(
        written.path, sender_keys=cards, identity=pkg_keys["contractor"].encryption
    )
    assert (signed.signer, signed.manifest, signed.digest) == (
        1,
        written.manifest,
        written.digest,
    )
    unsigned = craft(pkg_keys, pkg_out, drop={"manifest.sig"})
    refused(
        "unsigned",
        reader.read_signed_manifest,
        unsigned,
        sender_keys=cards,
        identity=pkg_keys["contractor"].encryption,
    )


@pytest.mark.parametrize("name", sorted(set(HOSTILE) - {"huge"}))
def test_parse_manifest_refuses_the_bytes_themselves(name):
    """The parser alone, on the bytes: a coded refusal, whatever signed them."""
    edit, reason = HOSTILE_MANIFESTS[name]
    base = b'{"answers":null,"format":"genchi-package","photo_count":0,"record_count":1}\n'
    refused("unknown_format", manifest.parse_manifest, edit(base), reason=reason)


# --- records.jsonl, key cards, secret key files ------------------------------------------------

HOSTILE_LINES = {
    "nan": b'{"case_ref":NaN}\n',
    "infinity": b'{"case_ref":Infinity}\n',
    "long_integer": b'{"case_ref":' + b"7" * 5000 + b"}\n",
    "deep_nesting": b'{"case_ref":' + b"[" * 10_000 + b"]" * 10_000 + b"}\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_hostile_record_line_is_a_bad_record(name, pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, jsonl=HOSTILE_LINES[name], records=CASES[:1])
    refusal = refused("bad_record", open_cases, pkg_keys, path, reason="line_json_limit")
    assert refusal.params == {"line": 1}


@pytest.mark.parametrize(
    "text",
    [b'{"format":' + b"[" * 3000 + b"]" * 3000 + b"}", b'{"version":' + b"1" * 5000 + b"}"],
    ids=["deep_nesting", "long_integer"],
)
def test_hostile_key_card_and_secret_file_are_refused(text):
    refused("wrong_format", parse_public_key_card, text)
    refused("bad_secret_keys", OrganisationKeys.from_bytes, text, reason="secret_not_json")
    refused("wrong_format", parse_public_key_card, b'{"version":NaN}')
    refused("not_json", parse_public_key_card, b'{"version":')


# --- the age header ----------------------------------------------------------------------------


def read_age(data: bytes, **kw):
    return age.AgeReader(io.BytesIO(data), **kw)


@pytest.mark.parametrize(
    ("stanzas", "field"),
    [
        (scrypt_stanza(b"9" * 5000), "header line"),  # the line is over its bound first
        (scrypt_stanza(b"1" * 100), "scrypt work factor"),
        (scrypt_stanza(b"100"), "scrypt work factor"),
        (b"-> X25519 " + b"A" * 5000 + b"\n" + b"A" * 43 + b"\n", "header line"),
        (b"-> other " + b"A" * 2049 + b"\n\n", "stanza argument"),
        (b"-> other" + b" a" * 16 + b"\n\n", "stanza arguments"),
        (b"-> other\n" + (b"A" * 64 + b"\n") * 200 + b"\n", "stanza body"),
    ],
    ids=[
        "work_factor_5000_digits",
        "work_factor_100_digits",
        "work_factor_3_digits",
        "long_x25519_share",
        "long_argument",
        "many_arguments",
        "long_body",
    ],
)
def test_over_long_header_fields_are_refused_before_conversion(stanzas, field):
    """In passphrase mode; with a key too, except the work factor, which a reader with a key
    never converts (it asks for the passphrase)."""
    data = age_with_header(stanzas)
    modes = [{"passphrase": "pw"}]
    if field != "scrypt work factor":
        modes.append({"identities": [age.generate_identity()]})
    for kw in modes:
        with pytest.raises(Refused) as info:
            read_age(data, **kw)
        assert (info.value.code, info.value.reason) == ("unknown_format", "header_field_too_long")
        assert info.value.params == {"field": field}


def test_a_work_factor_above_the_readers_bound_names_both():
    refusal = refused(
        "unknown_format",
        read_age,
        age_with_header(scrypt_stanza(b"23")),
        passphrase="pw",
        reason="work_factor",
    )
    assert refusal.params == {"work": 23, "max_work": age.MAX_SCRYPT_WORK_FACTOR}
    refusal = refused(
        "unknown_format",
        read_age,
        age_with_header(scrypt_stanza(b"19")),
        passphrase="pw",
        max_work_factor=18,
        reason="work_factor",
    )
    assert refusal.params == {"work": 19, "max_work": 18}


@pytest.mark.parametrize(
    "stanzas",
    [
        scrypt_stanza(b"01"),
        scrypt_stanza(b"0"),
        b"-> scrypt " + b"A" * 23 + b" 10\n" + b"A" * 43 + b"\n",
        b"-> X25519 " + b"A" * 44 + b"\n" + b"A" * 43 + b"\n",
    ],
    ids=["leading_zero", "zero", "salt_length", "share_length"],
)
def test_fields_of_the_wrong_length_are_not_decoded(stanzas):
    kw = {"passphrase": "pw"} if b"scrypt" in stanzas else {"identities": [age.generate_identity()]}
    refused("unknown_format", read_age, age_with_header(stanzas), reason="not_age", **kw)


def test_a_mac_of_the_wrong_length_is_not_decoded():
    stanza = b"-> X25519 " + b"A" * 43 + b"\n" + b"A" * 43 + b"\n"
    for mac in (b"A" * 44, b"A" * 5000):
        refused(
            "unknown_format",
            read_age,
            age_with_header(stanza, mac=mac),
            identities=[age.generate_identity()],
        )


def test_a_package_with_a_hostile_header_is_refused_by_open_and_inspect(pkg_keys, pkg_out):
    path = pkg_out / "hostile.genchi.age"
    path.write_bytes(age_with_header(scrypt_stanza(b"1" * 100)))
    refused(
        "unknown_format",
        open_cases,
        pkg_keys,
        path,
        identity=None,
        passphrase="pw",
        reason="header_field_too_long",
    )
    refused(
        "unknown_format",
        reader.inspect_package,
        path,
        passphrase="pw",
        reason="header_field_too_long",
    )
    assert reader.inspect_package(path).encryption == "scrypt"  # without a passphrase


# --- inspection says exactly what it checked ---------------------------------------------------

MANY_CASES = [dict(case, case_ref=f"M{i:05d}") for i, case in enumerate(CASES * 60)]


def test_inspect_does_not_call_a_damaged_later_chunk_valid(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out, records=MANY_CASES)
    data = bytearray(written.path.read_bytes())
    assert len(data) > 3 * age.ENCRYPTED_CHUNK_SIZE  # the manifest is in the first chunk
    data[-100] ^= 1  # inside the last chunk
    written.path.write_bytes(bytes(data))
    info = reader.inspect_package(
        written.path,
        identity=pkg_keys["contractor"].encryption,
        sender_key=pkg_keys["ward"].public_card(),
    )
    assert info.signature == "valid" and info.manifest == written.manifest  # the manifest
    assert info.content == "invalid" and info.content_refusal.code == "tampered"
    refused("tampered", open_cases, pkg_keys, written.path)


def test_inspect_checks_the_content_when_the_signature_is_valid(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out)
    ident = pkg_keys["contractor"].encryption
    good = reader.inspect_package(
        written.path, identity=ident, sender_keys=[pkg_keys["ward"].public_card()]
    )
    assert (good.signature, good.content, good.content_refusal, good.signer) == (
        "valid",
        "valid",
        None,
        0,
    )
    # A member that disagrees with its signed manifest: valid signature, invalid content.
    lying = craft(pkg_keys, pkg_out, manifest_edit=lambda m: m.update(record_count=2))
    info = reader.inspect_package(lying, identity=ident, sender_key=pkg_keys["ward"].public_card())
    assert (info.signature, info.content) == ("valid", "invalid")
    assert info.content_refusal.code == "count_mismatch"
    # Without a valid signature there is nothing to check the content against.
    unchecked = reader.inspect_package(
        written.path, identity=ident, sender_key=pkg_keys["other"].public_card()
    )
    assert (unchecked.signature, unchecked.content) == ("invalid", "not_checked")
    assert reader.inspect_package(written.path, identity=ident).content == "not_checked"


# --- the writer never reuses a nonce -----------------------------------------------------------


def test_the_age_writer_refuses_to_encrypt_a_chunk_index_twice(tmp_path):
    size = 3 * age.CHUNK_SIZE
    fd = os.open(tmp_path / "twice.age", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        writer = age.AgeFileWriter(
            fd, size, recipients=[age.identity_to_recipient(identity := age.generate_identity())]
        )
        chunk = bytes(age.CHUNK_SIZE)
        writer.write(1, chunk)
        with pytest.raises(ValueError, match="chunk 1 is already encrypted"):
            writer.write(1, b"\x01" * age.CHUNK_SIZE)
        with pytest.raises(ValueError, match="chunk 1 is already encrypted"):
            writer.write(0, bytes(2 * age.CHUNK_SIZE))  # a run overlapping it
        out = bytearray(age.ENCRYPTED_CHUNK_SIZE)
        with pytest.raises(ValueError, match="already encrypted"):
            writer.encrypt_into(1, memoryview(chunk), memoryview(out))
        writer.write(0, chunk)  # the refused run claimed nothing: chunk 0 is still free
        writer.write(2, chunk)
    finally:
        os.close(fd)
    with open(tmp_path / "twice.age", "rb") as fh:
        assert age.AgeReader(fh, identities=[identity]).read() == bytes(size)


def test_concurrent_writes_of_one_chunk_encrypt_it_once(tmp_path):
    fd = os.open(tmp_path / "race.age", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    outcomes: list[str] = []
    try:
        writer = age.AgeFileWriter(fd, age.CHUNK_SIZE, passphrase="pw", scrypt_work_factor=2)
        start = threading.Barrier(8)

        def write() -> None:
            start.wait()
            try:
                writer.write(0, bytes(age.CHUNK_SIZE))
                outcomes.append("written")
            except ValueError:
                outcomes.append("refused")

        threads = [threading.Thread(target=write) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.close(fd)
    assert sorted(outcomes) == ["refused"] * 7 + ["written"]

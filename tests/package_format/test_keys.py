"""Organisation keys and public key cards (plain pytest, no database)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pyrage
import pytest

from genchi.package_format import age, keys
from genchi.package_format.errors import Refused

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
FINGERPRINT_RE = re.compile(r"[0-9A-F]{4}( [0-9A-F]{4}){15}")


@pytest.fixture(scope="module")
def pkg_org_keys() -> keys.OrganisationKeys:
    return keys.generate_organisation_keys(
        "shinjuku-tax", "新宿区 税務課", created_at=datetime(2026, 6, 1, tzinfo=UTC)
    )


def test_generated_keys_have_the_standard_forms(pkg_org_keys):
    enc = pkg_org_keys.encryption
    assert re.fullmatch(r"AGE-SECRET-KEY-1[0-9A-Z]{58}", enc.identity)
    assert re.fullmatch(r"age1[0-9a-z]{58}", enc.recipient)
    # rage agrees on the public half.
    assert str(pyrage.x25519.Identity.from_str(enc.identity).to_public()) == enc.recipient
    assert len(pkg_org_keys.signing.seed) == 32 and len(pkg_org_keys.signing.public_key_bytes) == 32
    assert FINGERPRINT_RE.fullmatch(enc.fingerprint)
    assert FINGERPRINT_RE.fullmatch(pkg_org_keys.signing.fingerprint)
    other = keys.generate_organisation_keys("x1", "別組織")
    assert (
        other.encryption.identity != enc.identity
        and other.signing.seed != pkg_org_keys.signing.seed
    )


@pytest.mark.skipif(AGE is None or AGE_KEYGEN is None, reason="the age command is not installed")
def test_keys_work_with_the_age_command(pkg_org_keys, tmp_path):
    key_file = tmp_path / "key.txt"
    key_file.write_text(pkg_org_keys.encryption.identity + "\n")
    derived = subprocess.run(
        [AGE_KEYGEN, "-y", str(key_file)], check=True, capture_output=True, text=True
    )
    assert derived.stdout.strip() == pkg_org_keys.encryption.recipient
    secret = os.urandom(1000)
    done = subprocess.run(
        [AGE, "-r", pkg_org_keys.public_card().age_recipient],
        input=secret,
        check=True,
        capture_output=True,
    )
    (tmp_path / "x.age").write_bytes(done.stdout)
    with open(tmp_path / "x.age", "rb") as fh:
        assert age.AgeReader(fh, identities=[pkg_org_keys.encryption.identity]).read() == secret


def test_secret_keys_round_trip_and_never_print(pkg_org_keys):
    data = pkg_org_keys.to_bytes()
    again = keys.OrganisationKeys.from_bytes(data)
    assert again == pkg_org_keys
    assert again.encryption.recipient == pkg_org_keys.encryption.recipient
    text = repr(pkg_org_keys)
    assert pkg_org_keys.encryption.identity not in text
    assert pkg_org_keys.signing.seed.hex() not in text


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b'{"format": "genchi-organisation-secret-keys", "version": 2}',
    ],
)
def test_bad_secret_key_files(data):
    with pytest.raises(Refused) as info:
        keys.OrganisationKeys.from_bytes(data)
    assert info.value.code == "bad_secret_keys"


def test_bad_secret_key_values(pkg_org_keys):
    obj = json.loads(pkg_org_keys.to_bytes())
    for field, value in [("age_identity", "AGE-SECRET-KEY-1XYZ"), ("ed25519_seed", "AAAA")]:
        broken = dict(obj, **{field: value})
        with pytest.raises(Refused):
            keys.OrganisationKeys.from_bytes(json.dumps(broken).encode())


def test_public_card_round_trip(pkg_org_keys):
    card = pkg_org_keys.public_card()
    data = card.to_bytes()
    assert len(data) < 1024  # small enough for a QR code
    obj = json.loads(data)
    assert obj["format"] == "genchi-public-key-card"
    assert obj["encryption"]["recipient"] == pkg_org_keys.encryption.recipient
    assert obj["encryption"]["fingerprint"] == pkg_org_keys.encryption.fingerprint
    assert obj["signing"]["fingerprint"] == pkg_org_keys.signing.fingerprint
    assert "AGE-SECRET-KEY" not in data.decode() and "seed" not in data.decode()
    parsed = keys.parse_public_key_card(data)
    assert parsed == card
    assert keys.parse_public_key_card("\ufeff" + data.decode() + "\n") == card  # BOM, newline
    assert parsed.signing_key.public_bytes_raw() == pkg_org_keys.signing.public_key_bytes


def test_fingerprints_are_sha256_in_blocks(pkg_org_keys):
    import hashlib

    card = pkg_org_keys.public_card()
    raw = age.parse_recipient(card.age_recipient)
    assert card.encryption_fingerprint.replace(" ", "").lower() == hashlib.sha256(raw).hexdigest()
    assert keys.key_id(card.signing_public_key) == card.signing_fingerprint.replace(" ", "").lower()


def test_qr_code_svg(pkg_org_keys):
    import io

    import segno

    card = pkg_org_keys.public_card()
    svg = card.qr_svg(title="shinjuku-tax 公開鍵カード")
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag.endswith("svg")
    assert "shinjuku-tax" in svg  # in the title
    # segno is deterministic: the same symbol drawn from the card bytes proves the QR
    # code carries exactly the card file.
    qr = segno.make(card.to_bytes(), error="m", micro=False)
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4, xmldecl=False, title="shinjuku-tax 公開鍵カード")
    assert out.getvalue().decode() == svg
    assert qr.version <= 20  # scannable by an ordinary phone or document camera


def _card(pkg_org_keys, **changes) -> bytes:
    obj = pkg_org_keys.public_card().to_json()
    for path, value in changes.items():
        target = obj
        *parents, last = path.split("__")
        for p in parents:
            target = target[p]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return json.dumps(obj, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"format": "something-else"}, "wrong_format"),
        ({"version": 9}, "unsupported_version"),
        ({"org_code": "../x"}, "bad_org_code"),
        ({"org_name": ""}, "bad_org_name"),
        ({"created_at": "yesterday"}, "bad_created_at"),
        ({"encryption__recipient": "age1qqqq"}, "bad_recipient"),
        ({"encryption": ...}, "bad_recipient"),
        ({"signing__public_key": "AAAA"}, "bad_signing_key"),
        ({"signing__type": "rsa"}, "bad_signing_key"),
        ({"encryption__fingerprint": "0000 " * 15 + "0000"}, "fingerprint_mismatch"),
        ({"signing__fingerprint": "0000 " * 15 + "0000"}, "fingerprint_mismatch"),
    ],
)
def test_bad_cards_are_refused_with_their_code(pkg_org_keys, changes, code):
    with pytest.raises(Refused) as info:
        keys.parse_public_key_card(_card(pkg_org_keys, **changes))
    assert info.value.code == code


def test_a_swapped_key_is_caught_by_its_fingerprint(pkg_org_keys):
    """Someone replaces the encryption key but keeps the printed fingerprint."""
    intruder = keys.generate_organisation_keys("evil", "なりすまし")
    data = _card(pkg_org_keys, encryption__recipient=intruder.encryption.recipient)
    with pytest.raises(Refused) as info:
        keys.parse_public_key_card(data)
    assert info.value.code == "fingerprint_mismatch"


def test_not_a_card():
    for data in (b"\xff\xfe", b"hello", b"x" * 10_000):
        with pytest.raises(Refused) as info:
            keys.parse_public_key_card(data)
        assert info.value.code in {"not_json", "too_large"}


def test_generate_rejects_bad_codes():
    with pytest.raises(ValueError):
        keys.generate_organisation_keys("with space", "名前")
    with pytest.raises(ValueError):
        keys.generate_organisation_keys("ok", "")


@pytest.mark.parametrize(
    "hostile",
    [
        b'{"format": "x", "a": ' + b"[" * 1_000 + b"]" * 1_000 + b"}",
        b'{"format": "x", "version": NaN}',
        b'{"format": "x", "version": ' + b"9" * 5000 + b"}",
    ],
    ids=["deep", "nan", "long-number"],
)
def test_both_kinds_of_card_are_read_within_the_card_limits(hostile):
    """Issue 12: a contract recipient card went through plain json.loads; both card kinds
    now share one bounded reader (`keys.card_object`)."""
    from genchi.package_format.contract_card import parse_contract_card

    for parse in (keys.parse_public_key_card, parse_contract_card):
        with pytest.raises(Refused) as refused:
            parse(hostile)
        assert refused.value.code in ("not_json", "wrong_format")

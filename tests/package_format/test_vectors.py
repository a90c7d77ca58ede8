"""Our age v1 against the community test vectors (C2SP CCTV, age/testdata; NOTICE).

Each vector is a small text header (what to expect, the identity or passphrase, the
SHA-256 of the payload) and an age file. Every vector of what we implement (binary files,
X25519 and scrypt recipients) must end as the reference says: success with the same
payload, or the same class of failure (header, HMAC, no match, payload; for a payload
failure, the plaintext released before it must match too). The others (ASCII armor, the
post-quantum hybrid recipient) must be refused, never accepted.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from genchi.package_format import age
from genchi.package_format.errors import Refused
from genchi.package_format.keys import EncryptionKeyPair

VECTORS = Path(__file__).parent / "age_vectors"


@dataclass(frozen=True)
class Vector:
    name: str
    expect: str
    payload: str | None
    identities: tuple[str, ...]
    passphrases: tuple[str, ...]
    armored: bool
    body: bytes

    @property
    def ours(self) -> bool:
        """Binary, and every identity an X25519 one: what our age implements."""
        return not self.armored and all(i.startswith("AGE-SECRET-KEY-1") for i in self.identities)


def load(path: Path) -> Vector:
    data = path.read_bytes()
    head, body = data.split(b"\n\n", 1)
    fields: dict[str, list[str]] = {}
    for line in head.decode("utf-8").splitlines():
        key, value = line.split(": ", 1)
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return Vector(
        name=path.name,
        expect=fields["expect"][0],
        payload=fields.get("payload", [None])[0],
        identities=tuple(fields.get("identity", [])),
        passphrases=tuple(fields.get("passphrase", [])),
        armored=fields.get("armored") == ["yes"],
        body=body,
    )


COUNT = 143  # the vectors of the suite as copied (NOTICE); 92 apply to what we implement


def load_all(folder: Path) -> list[Vector]:
    """Every vector in `folder`. A folder missing or short of vectors is an error at
    collection, which fails the suite: vectors that silently stopped running would look
    like vectors that pass."""
    if not folder.is_dir():
        raise FileNotFoundError(f"the CCTV age vectors are missing: {folder}")
    vectors = [load(p) for p in sorted(folder.iterdir()) if p.is_file()]
    if len(vectors) != COUNT:
        raise FileNotFoundError(f"{len(vectors)} CCTV age vectors in {folder}, not {COUNT}")
    return vectors


ALL = load_all(VECTORS)
OURS = [v for v in ALL if v.ours]
NOT_OURS = [v for v in ALL if not v.ours]


def outcome(vector: Vector, identities: tuple[str, ...]) -> tuple[str, bytes, Refused | None]:
    """Decrypt as a package reader does; return the class of outcome in the vectors' terms,
    the plaintext released, and the refusal."""
    passphrase = vector.passphrases[0] if vector.passphrases else None
    try:
        reader = age.AgeReader(
            io.BytesIO(vector.body), identities=identities, passphrase=passphrase
        )
    except Refused as exc:
        if exc.code == "wrong_key":
            return "no match", b"", exc
        if exc.code == "tampered" and exc.reason == "header_mac":
            return "HMAC failure", b"", exc
        assert exc.code in {"unknown_format", "truncated"}, str(exc)
        return "header failure", b"", exc
    released = bytearray()
    try:
        while piece := reader.read(age.CHUNK_SIZE):
            released += piece
    except Refused as exc:
        assert exc.code in {"tampered", "truncated"}, str(exc)
        return "payload failure", bytes(released), exc
    return "success", bytes(released), None


def test_the_vectors_are_all_here():
    assert len(ALL) == COUNT
    assert {v.expect for v in OURS} == {
        "success",
        "no match",
        "HMAC failure",
        "header failure",
        "payload failure",
    }
    assert len(OURS) == 92 and len(NOT_OURS) == 51


@pytest.mark.parametrize("vector", OURS, ids=lambda v: v.name)
def test_vector(vector: Vector):
    result, released, refusal = outcome(vector, vector.identities)
    assert result == vector.expect, (result, str(refusal))
    if vector.payload is not None:
        assert hashlib.sha256(released).hexdigest() == vector.payload


@pytest.mark.parametrize("vector", NOT_OURS, ids=lambda v: v.name)
def test_what_we_do_not_implement_is_refused(vector: Vector):
    """ASCII armor, and post-quantum hybrid recipients, with an X25519 key of ours (the
    vectors' X25519 identities where they give one): refused, never read."""
    ours = tuple(i for i in vector.identities if i.startswith("AGE-SECRET-KEY-1"))
    result, released, refusal = outcome(vector, ours or (EncryptionKeyPair.generate().identity,))
    assert result != "success" and refusal is not None
    assert released == b""
    if vector.armored:
        assert refusal.code == "unknown_format"
        if vector.body.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----"):
            assert refusal.reason == "armored"


def test_missing_or_partial_vectors_fail_instead_of_running_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        load_all(tmp_path / "age_vectors")
    partial = tmp_path / "partial"
    partial.mkdir()
    for path in sorted(VECTORS.iterdir())[:10]:
        (partial / path.name).write_bytes(path.read_bytes())
    with pytest.raises(FileNotFoundError, match="10 CCTV age vectors"):
        load_all(partial)

"""Files of any size under a scope's data key (STREAM construction): every change found."""

import io
import os
import tracemalloc

import pytest
from django.core.files.storage import FileSystemStorage

from genchi import vault
from genchi.vault import DecryptionFailed, encryption, keys

pytestmark = pytest.mark.django_db

CHUNK = encryption.CHUNK
SEALED = CHUNK + 16  # a full chunk with its tag
HEADER = 1 + 16 + 16
CONTEXT = "fieldwork.photo:12"


def _encrypt(scope, data: bytes, context: str = CONTEXT) -> bytes:
    out = io.BytesIO()
    assert vault.encrypt_stream(scope, context, io.BytesIO(data), out) == len(data)
    return out.getvalue()


def _decrypt(scope, blob: bytes, context: str = CONTEXT) -> bytes:
    out = io.BytesIO()
    assert vault.decrypt_stream(scope, context, io.BytesIO(blob), out) == len(out.getvalue())
    return out.getvalue()


def _chunks(blob: bytes) -> list[bytes]:
    body = blob[HEADER:]
    return [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


SIZES = {
    "empty": 0,
    "one byte": 1,
    "just under a chunk": CHUNK - 1,
    "exactly one chunk": CHUNK,
    "one chunk and a byte": CHUNK + 1,
    "many chunks": 5 * CHUNK + 1234,
    "many full chunks": 4 * CHUNK,
}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_round_trip(ward_scope, size):
    data = os.urandom(size)
    blob = _encrypt(ward_scope, data)
    chunks = max(1, -(-size // CHUNK))
    assert len(blob) == HEADER + size + 16 * chunks
    assert blob[0] == encryption.STREAM_V1
    assert blob[1:17] == keys.current_key(ward_scope)[0].bytes
    assert _decrypt(ward_scope, blob) == data


class Trickle(io.RawIOBase):
    """A source that hands out at most 1000 bytes per read, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else 1000)


def test_short_reads_make_the_same_stream(ward_scope):
    data = os.urandom(3 * CHUNK + 5)
    out = io.BytesIO()
    vault.encrypt_stream(ward_scope, CONTEXT, Trickle(data), out)
    assert len(out.getvalue()) == HEADER + len(data) + 4 * 16
    back = io.BytesIO()
    vault.decrypt_stream(ward_scope, CONTEXT, Trickle(out.getvalue()), back)
    assert back.getvalue() == data


def test_memory_stays_bounded(ward_scope, tmp_path):
    """32 MiB through both directions with a few chunks of memory at most."""
    plain = tmp_path / "plain"
    with plain.open("wb") as f:
        for _ in range(512):
            f.write(os.urandom(CHUNK))
    keys.current_key(ward_scope)  # the key's first load is not the stream's memory
    tracemalloc.start()
    try:
        with plain.open("rb") as src, (tmp_path / "enc").open("wb") as dst:
            vault.encrypt_stream(ward_scope, CONTEXT, src, dst)
        with (tmp_path / "enc").open("rb") as src, (tmp_path / "dec").open("wb") as dst:
            vault.decrypt_stream(ward_scope, CONTEXT, src, dst)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * SEALED, peak
    assert (tmp_path / "dec").read_bytes() == plain.read_bytes()


@pytest.fixture
def stream(ward_scope):
    """Three full chunks and a short last one."""
    data = os.urandom(3 * CHUNK + 100)
    return data, _encrypt(ward_scope, data)


def _tampered(blob: bytes, how: str, other: bytes) -> bytes:
    header, chunks = blob[:HEADER], _chunks(blob)
    if how == "truncated at a chunk boundary":
        return header + b"".join(chunks[:2])
    if how == "truncated mid-chunk":
        return blob[: HEADER + SEALED + 100]
    if how == "truncated in the last chunk":
        return blob[:-1]
    if how == "last chunk dropped":
        return header + b"".join(chunks[:-1])
    if how == "header only":
        return header
    if how == "header cut":
        return blob[: HEADER - 1]
    if how == "two chunks swapped":
        return header + chunks[1] + chunks[0] + b"".join(chunks[2:])
    if how == "a chunk repeated":
        return header + chunks[0] + chunks[0] + b"".join(chunks[1:])
    if how == "a chunk of another file":
        return header + chunks[0] + _chunks(other)[1] + b"".join(chunks[2:])
    if how == "another file's header":
        return other[:HEADER] + b"".join(chunks)
    if how == "a byte appended":
        return blob + b"\x00"
    if how == "a chunk appended":
        return blob + chunks[-1]
    if how == "another file appended":
        return blob + other[HEADER:]
    if how.startswith("bit flipped at "):
        where = int(how.rsplit(" ", 1)[1])
        flipped = bytearray(blob)
        flipped[where] ^= 0x80
        return bytes(flipped)
    raise AssertionError(how)


TAMPERING = [
    "truncated at a chunk boundary",
    "truncated mid-chunk",
    "truncated in the last chunk",
    "last chunk dropped",
    "header only",
    "header cut",
    "two chunks swapped",
    "a chunk repeated",
    "a chunk of another file",
    "another file's header",
    "a byte appended",
    "a chunk appended",
    "another file appended",
    # version, key id, salt, first chunk, a tag, the last chunk
    *(f"bit flipped at {i}" for i in (0, 5, 20, HEADER, HEADER + SEALED - 1, -1)),
]


@pytest.mark.parametrize("how", TAMPERING)
def test_tampering_is_found(ward_scope, stream, how):
    data, blob = stream
    other = _encrypt(ward_scope, os.urandom(len(data)))  # same key, same size
    with pytest.raises(DecryptionFailed):
        _decrypt(ward_scope, _tampered(blob, how, other))


def test_an_exactly_full_last_chunk_cannot_be_cut_or_extended(ward_scope):
    blob = _encrypt(ward_scope, os.urandom(2 * CHUNK))
    for bad in (blob[:-SEALED], blob + blob[-16:], blob[:HEADER] + blob[-SEALED:]):
        with pytest.raises(DecryptionFailed):
            _decrypt(ward_scope, bad)


def test_an_empty_last_chunk_after_a_full_one_is_refused(ward_scope):
    """The writer never ends a stream with an empty chunk unless it is empty; a stream that
    does (made here with the vault's own key) is refused, so each plaintext has one form."""
    key_id, key = keys.current_key(ward_scope)
    salt = os.urandom(16)
    header = bytes((encryption.STREAM_V1,)) + key_id.bytes + salt
    aead, prefix = encryption._stream_cipher(key, salt)
    aad = encryption._aad(header, ward_scope.label, CONTEXT)
    full = aead.encrypt(encryption._chunk_nonce(prefix, 0, False), os.urandom(CHUNK), aad)
    empty = aead.encrypt(encryption._chunk_nonce(prefix, 1, True), b"", aad)
    with pytest.raises(DecryptionFailed):
        _decrypt(ward_scope, header + full + empty)


def test_an_empty_stream_still_proves_itself(ward_scope):
    blob = _encrypt(ward_scope, b"")
    assert len(blob) == HEADER + 16
    assert _decrypt(ward_scope, blob) == b""
    with pytest.raises(DecryptionFailed):
        _decrypt(ward_scope, blob[:HEADER])


def test_a_stream_is_bound_to_its_context_and_scope(ward_scope, contractor_scope, ward):
    blob = _encrypt(ward_scope, b"photo bytes")
    with pytest.raises(DecryptionFailed):
        _decrypt(ward_scope, blob, context="fieldwork.photo:13")
    for scope in (contractor_scope, vault.organisation_scope(ward.pk)):
        with pytest.raises(DecryptionFailed):
            _decrypt(scope, blob)


def test_bytes_and_streams_are_not_interchangeable(ward_scope):
    blob = vault.encrypt(ward_scope, CONTEXT, b"x" * 100)
    with pytest.raises(DecryptionFailed):
        _decrypt(ward_scope, blob)
    with pytest.raises(DecryptionFailed):
        vault.decrypt(ward_scope, CONTEXT, _encrypt(ward_scope, b"x" * 100))


def test_storage_holds_only_ciphertext(ward_scope, tmp_path):
    storage = FileSystemStorage(location=tmp_path / "media")
    data = b"JPEG" + os.urandom(CHUNK) + "表札: 髙橋".encode()
    name = vault.save_encrypted_file(
        storage, "photos/12.bin", ward_scope, CONTEXT, io.BytesIO(data)
    )
    stored = (tmp_path / "media" / name).read_bytes()
    assert "髙橋".encode() not in stored and stored[0] == encryption.STREAM_V1
    out = io.BytesIO()
    assert vault.read_encrypted_file(storage, name, ward_scope, CONTEXT, out) == len(data)
    assert out.getvalue() == data
    again = vault.save_encrypted_file(
        storage, "photos/12.bin", ward_scope, CONTEXT, io.BytesIO(b"x")
    )
    assert again != name  # the storage picks a free name and says which

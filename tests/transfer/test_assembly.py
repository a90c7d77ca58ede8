"""assembly.encrypt_parts: the archive's plaintext comes out byte for byte whatever the sizes
and alignments of its parts, with the deferred chunks handed back."""

from __future__ import annotations

import hashlib
import os
import random

import pytest

from genchi.transfer import age, assembly
from genchi.transfer.keys import generate_organisation_keys

CH = age.CHUNK_SIZE


@pytest.fixture(scope="module")
def identity():
    return generate_organisation_keys("CON01", "受託").encryption


def stream(data: bytes, seed: int) -> assembly.StreamPart:
    """A staged member handing out its bytes in pieces of irregular size."""

    def chunks():
        rng, pos = random.Random(seed), 0
        while pos < len(data):
            step = rng.choice([1, 7, 4096, CH - 3, 3 * CH])
            yield data[pos : pos + step]
            pos += step

    return assembly.StreamPart(len(data), chunks)


def photo(tmp_path, name: str, size: int) -> tuple[assembly.FilePart, bytes]:
    path = tmp_path / name
    data = os.urandom(size)
    path.write_bytes(data)
    st = path.stat()
    return assembly.FilePart(path, size, st.st_mtime_ns), data


def layout(tmp_path) -> tuple[list[assembly.Part], bytes, list[bytes]]:
    """Every awkward case: empty and one-byte photos, photos smaller than, equal to and
    just over a chunk, a photo starting on a chunk boundary and filling whole chunks,
    adjacent photos, and a large staged member."""
    parts: list[assembly.Part] = []
    plain = bytearray()
    photo_data: list[bytes] = []

    def add(part: assembly.Part, data: bytes) -> None:
        parts.append(part)
        plain.extend(data)
        if isinstance(part, assembly.FilePart):
            photo_data.append(data)

    head = os.urandom(CH + 1000)  # the manifest's place
    add(head, head)
    records = os.urandom(3 * CH + 12345)
    add(stream(records, 1), records)
    sizes = [0, 1, 511, CH - 1, CH, CH + 1, 3 * CH, 3 * CH + 7, (2 << 20) + 3, 0, 5]
    for i, size in enumerate(sizes):
        header = bytes([i]) * 512
        add(header, header)
        add(*photo(tmp_path, f"p{i}.jpg", size))
    # Pad to a chunk boundary, then a photo of exactly four chunks.
    pad = b"\0" * (-len(plain) % CH)
    add(pad, pad)
    add(*photo(tmp_path, "aligned.jpg", 4 * CH))
    add(*photo(tmp_path, "next.jpg", 2 * CH + 9))  # right after it, no bytes between
    tail = b"\0" * (1024 + (-(len(plain) + 1024) % CH))
    add(tail, tail)
    return parts, bytes(plain), photo_data


@pytest.mark.parametrize("deferred", [0, 2, 9])
@pytest.mark.parametrize("piece_chunks", [1, 3, 16])
def test_every_byte_in_its_place(tmp_path, identity, monkeypatch, piece_chunks, deferred):
    """Buffers smaller than the deferred head, not a divisor of it, and the default; a
    head of two chunks (the manifest), and one of nine that holds photos too."""
    monkeypatch.setattr(assembly, "PIECE_CHUNKS", piece_chunks)
    parts, plain, photo_data = layout(tmp_path)
    path = tmp_path / "out.age"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, len(plain), recipients=[identity.recipient])
        hashes, held = assembly.encrypt_parts(writer, parts, deferred=deferred)
        assert bytes(held) == plain[: deferred * CH]
        if held:
            writer.write(0, held)
    finally:
        os.close(fd)
    assert hashes == [hashlib.sha256(d).hexdigest() for d in photo_data]
    assert path.stat().st_size == writer.file_size
    with open(path, "rb") as fh:
        assert age.AgeReader(fh, identities=[identity.identity]).read() == plain


def test_parts_must_fill_the_file(tmp_path, identity):
    part, data = photo(tmp_path, "p.jpg", 3 * CH)
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, 3 * CH, recipients=[identity.recipient])
        with pytest.raises(ValueError, match="fill"):
            assembly.encrypt_parts(writer, [part, b"x"])
    finally:
        os.close(fd)


def test_a_short_staged_member_is_an_error_not_a_wrong_file(tmp_path, identity):
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, 100, recipients=[identity.recipient])
        liar = assembly.StreamPart(100, lambda: iter([b"x" * 60]))
        with pytest.raises(RuntimeError, match="shorter"):
            assembly.encrypt_parts(writer, [liar])
    finally:
        os.close(fd)


def test_the_medium_is_written_to_while_packing(tmp_path, identity, monkeypatch):
    """Written pages are handed to the kernel to write out as the file grows, not all at
    the final fsync: each call covers the next stretch of the file, before the end."""
    monkeypatch.setattr(assembly, "WRITEBACK_BYTES", 2 * CH)
    calls: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def recording(fd, offset, length, advice):
        assert advice == os.POSIX_FADV_DONTNEED
        calls.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(assembly.os, "posix_fadvise", recording)
    monkeypatch.setattr(assembly, "PIECE_CHUNKS", 1)
    part, data = photo(tmp_path, "p.jpg", 10 * CH + 5)
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, 10 * CH + 5, recipients=[identity.recipient])
        assembly.encrypt_parts(writer, [part])
    finally:
        os.close(fd)
    assert len(calls) >= 4
    assert [offset for offset, _ in calls] == [0] + [o + n for o, n in calls[:-1]]
    assert calls[-1][0] + calls[-1][1] < writer.file_size

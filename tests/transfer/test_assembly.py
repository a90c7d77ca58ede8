"""assembly.encrypt_parts: the archive's plaintext, shared out between lanes and the calling
thread, comes out byte for byte whatever the sizes, alignments and number of lanes."""

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


def layout(tmp_path) -> tuple[list[assembly.Part], bytes, list[bytes], int]:
    """Every awkward case: empty and one-byte photos, photos smaller than, equal to and
    just over a chunk, a photo starting on a chunk boundary and filling whole chunks (no
    edge bytes at all), adjacent photos, a large staged member, and a deferred head."""
    parts: list[assembly.Part] = []
    plain = bytearray()
    photo_data: list[bytes] = []

    def add(part: assembly.Part, data: bytes) -> None:
        parts.append(part)
        plain.extend(data)
        if isinstance(part, assembly.FilePart):
            photo_data.append(data)

    head = os.urandom(CH + 1000)  # the manifest's place: two deferred chunks
    add(head, head)
    records = os.urandom(3 * CH + 12345)
    add(stream(records, 1), records)
    sizes = [0, 1, 511, CH - 1, CH, CH + 1, 3 * CH, 3 * CH + 7, (2 << 20) + 3, 0, 5]
    for i, size in enumerate(sizes):
        header = bytes([i]) * 512
        add(header, header)
        add(*photo(tmp_path, f"p{i}.jpg", size))
    # Pad to a chunk boundary, then a photo of exactly four chunks: all interior.
    pad = b"\0" * (-len(plain) % CH)
    add(pad, pad)
    add(*photo(tmp_path, "aligned.jpg", 4 * CH))
    add(*photo(tmp_path, "next.jpg", 2 * CH + 9))  # right after it, no bytes between
    tail = b"\0" * (1024 + (-(len(plain) + 1024) % CH))
    add(tail, tail)
    return parts, bytes(plain), photo_data, 2


@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_every_byte_in_its_place(tmp_path, identity, monkeypatch, lanes, photo_hashing):
    # The windows are exercised, not just filled.
    monkeypatch.setattr(assembly, "WINDOW", 3)
    monkeypatch.setattr(assembly, "MULTI_WINDOW_PER_LANE", 2)
    parts, plain, photo_data, deferred = layout(tmp_path)
    path = tmp_path / "out.age"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, len(plain), recipients=[identity.recipient])
        hashes, held = assembly.encrypt_parts(writer, parts, deferred=deferred, lanes=lanes)
        assert bytes(held) == plain[: deferred * CH]
        writer.write(0, held)
    finally:
        os.close(fd)
    assert hashes == [hashlib.sha256(d).hexdigest() for d in photo_data]
    assert path.stat().st_size == writer.file_size
    with open(path, "rb") as fh:
        assert age.AgeReader(fh, identities=[identity.identity]).read() == plain


def test_parts_must_fill_the_file_and_deferred_chunks_hold_no_photo(tmp_path, identity):
    part, data = photo(tmp_path, "p.jpg", 3 * CH)
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, 3 * CH, recipients=[identity.recipient])
        with pytest.raises(ValueError, match="fill"):
            assembly.encrypt_parts(writer, [part, b"x"])
        with pytest.raises(ValueError, match="deferred"):
            assembly.encrypt_parts(writer, [part], deferred=1)
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


def test_many_photos_sixteen_at_a_time_match_hashlib(tmp_path, identity, photo_hashing):
    """Enough photos of varied sizes to refill every slot of two lanes several times: the
    same file and hashes either way."""
    rng = random.Random(7)
    parts: list[assembly.Part] = []
    plain = bytearray()
    photo_data = []
    for i in range(70):
        header = bytes([i % 256]) * 512
        parts.append(header)
        plain += header
        part, data = photo(tmp_path, f"m{i}.jpg", rng.choice([0, 100, CH, 5 * CH + 17, 300_000]))
        parts.append(part)
        plain += data
        photo_data.append(data)
        pad = b"\0" * (-len(data) % 512)
        parts.append(pad)
        plain += pad
    path = tmp_path / "out.age"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, len(plain), recipients=[identity.recipient])
        hashes, held = assembly.encrypt_parts(writer, parts, lanes=2)
        assert held == b""
    finally:
        os.close(fd)
    assert hashes == [hashlib.sha256(d).hexdigest() for d in photo_data]
    with open(path, "rb") as fh:
        assert age.AgeReader(fh, identities=[identity.identity]).read() == plain


def test_sixteen_slot_lanes_are_capped_for_memory(tmp_path, identity, monkeypatch, photo_hashing):
    """Each 16-slot lane holds 4 MiB of buffers: a many-core machine runs at most
    MULTI_MAX_LANES of them (hashlib lanes stay at one per core, up to MAX_LANES)."""
    started = []

    class Recording(assembly.ThreadPoolExecutor):
        def __init__(self, max_workers, **kwargs):
            started.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(assembly, "ThreadPoolExecutor", Recording)
    part, data = photo(tmp_path, "p.jpg", 3 * CH)
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer = age.AgeFileWriter(fd, 3 * CH, recipients=[identity.recipient])
        assembly.encrypt_parts(writer, [part], lanes=8)
    finally:
        os.close(fd)
    expected = assembly.MULTI_MAX_LANES if photo_hashing == "multihash" else 8
    assert started == [expected]

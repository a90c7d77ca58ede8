"""Writing packages: the guarantees of the writer (photos read once and checked unchanged,
nothing left behind on failure, bounded memory, the medium written to while packing), and
its streaming pass byte for byte whatever the sizes and alignments of the parts."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genchi.package_format import age, reader, writer
from genchi.package_format.keys import generate_organisation_keys
from tests.package_format.packages import (
    AGE,
    CASES,
    CONTRACT,
    members_of,
    open_cases,
    refused,
    write_cases,
    write_results,
)


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
    contents = reader.read_package(
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


def test_failed_write_leaves_nothing(pkg_keys, pkg_out, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        write_results(pkg_keys, pkg_out, [(tmp_path / "missing.jpg", "C0001/x.jpg")])
    # A photo that changes between the layout and packing is caught, the partial file removed.
    src = tmp_path / "p.jpg"
    src.write_bytes(b"x" * 100_000)
    real = writer._photo_stat
    monkeypatch.setattr(writer, "_photo_stat", lambda p: (real(p)[0], 1))
    refused("photo_changed", write_results, pkg_keys, pkg_out, [(src, "C0001/x.jpg")])
    assert list(pkg_out.iterdir()) == []


def test_refusals_of_the_data_to_write(pkg_keys, pkg_out, tmp_path, monkeypatch):
    """What the data can cause is refused with a code, before a byte is written."""
    src = tmp_path / "p.jpg"
    src.write_bytes(b"x" * 1000)
    bad_name = refused("bad_member_name", write_results, pkg_keys, pkg_out, [(src, "../x.jpg")])
    assert (bad_name.reason, bad_name.params) == ("bad_photo_name", {"name": "photos/../x.jpg"})
    twice = [(src, "C0001/1.jpg"), (src, "C0001/1.jpg")]
    refused("duplicate_member", write_results, pkg_keys, pkg_out, twice, reason="duplicate_photo")
    folder = refused("not_a_file", write_results, pkg_keys, pkg_out, [(tmp_path, "C0001/1.jpg")])
    assert folder.params == {"name": tmp_path.name}
    record = refused("bad_record", write_results, pkg_keys, pkg_out, [], case_ref="")
    assert (record.reason, record.params) == ("no_case_ref", {"record": 1})
    real = os.statvfs(pkg_out)
    tiny = os.statvfs_result((*real[:4], 1, *real[5:]))  # one free block
    monkeypatch.setattr(writer.os, "statvfs", lambda path: tiny)
    full = refused("no_space", write_results, pkg_keys, pkg_out, [], reason="space_needed")
    assert full.params["free"] == real.f_frsize and full.params["needed"] > full.params["free"]
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
    with pytest.raises(ValueError, match="photos"):
        write_cases(pkg_keys, pkg_out, photos=[(tmp_path / "x", "a.jpg")])
    with pytest.raises(ValueError, match="output folder"):
        write_cases(pkg_keys, tmp_path / "missing")
    assert list(pkg_out.iterdir()) == []


def test_large_record_sets_spool_encrypted(pkg_keys, pkg_out, monkeypatch):
    """Records beyond the memory limit are staged on disk encrypted, and round-trip."""
    monkeypatch.setattr(writer._Spool, "MEMORY_LIMIT", 10_000)
    records = [dict(CASES[0], case_ref=f"C{i:05d}") for i in range(3000)]
    written = write_cases(pkg_keys, pkg_out, records=records)
    assert open_cases(pkg_keys, written.path).read_all().records == records


BOUNDED_MEMORY_SCRIPT = textwrap.dedent(
    """
    import os, resource, sys, json
    from pathlib import Path
    from genchi.package_format import keys, reader, writer
    from genchi.package_format.records import blank_result

    work = Path(sys.argv[1])
    photo = work / "big.jpg"
    with open(photo, "wb") as f:  # sparse: costs no disk, still 300 MB to encrypt and hash
        f.truncate(300 * 1024 * 1024)
    ward = keys.generate_organisation_keys("WARD01", "区")
    con = keys.generate_organisation_keys("CON01", "事業者")
    out = work / "out"
    out.mkdir()
    written = writer.write_package(
        kind="results", contract="K1", sender="CON01", recipient="WARD01",
        records=(blank_result(f"C{i}") for i in range(500)),
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
    contents = reader.read_package(
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
    real_pwrite_all = writer.age._pwrite_all
    calls = {"n": 0}

    def failing_pwrite_all(fd, data, offset):
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError(28, "No space left on device")
        real_pwrite_all(fd, data, offset)

    monkeypatch.setattr(writer.age, "_pwrite_all", failing_pwrite_all)
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
    real_stat = writer._photo_stat

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

    monkeypatch.setattr(writer, "_photo_stat", stat_then_change)
    changed = refused("photo_changed", write_results, pkg_keys, pkg_out, photos)
    assert (changed.reason, changed.params) == ("changed_photo", {"name": f"p{victim_index}.jpg"})
    assert list(pkg_out.iterdir()) == []


# --- the streaming pass, byte for byte ---------------------------------------------------


CH = age.CHUNK_SIZE


@pytest.fixture(scope="module")
def identity():
    return generate_organisation_keys("CON01", "受託").encryption


def stream(data: bytes, seed: int) -> writer.StreamPart:
    """A staged member handing out its bytes in pieces of irregular size."""

    def chunks():
        rng, pos = random.Random(seed), 0
        while pos < len(data):
            step = rng.choice([1, 7, 4096, CH - 3, 3 * CH])
            yield data[pos : pos + step]
            pos += step

    return writer.StreamPart(len(data), chunks)


def photo(tmp_path, name: str, size: int) -> tuple[writer.FilePart, bytes]:
    path = tmp_path / name
    data = os.urandom(size)
    path.write_bytes(data)
    st = path.stat()
    return writer.FilePart(path, size, st.st_mtime_ns), data


def layout(tmp_path) -> tuple[list[writer.Part], bytes, list[bytes]]:
    """Every awkward case: empty and one-byte photos, photos smaller than, equal to and
    just over a chunk, a photo starting on a chunk boundary and filling whole chunks,
    adjacent photos, and a large staged member."""
    parts: list[writer.Part] = []
    plain = bytearray()
    photo_data: list[bytes] = []

    def add(part: writer.Part, data: bytes) -> None:
        parts.append(part)
        plain.extend(data)
        if isinstance(part, writer.FilePart):
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
    monkeypatch.setattr(writer, "PIECE_CHUNKS", piece_chunks)
    parts, plain, photo_data = layout(tmp_path)
    path = tmp_path / "out.age"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        age_file = age.AgeFileWriter(fd, len(plain), recipients=[identity.recipient])
        hashes, held = writer.encrypt_parts(age_file, parts, deferred=deferred)
        assert bytes(held) == plain[: deferred * CH]
        if held:
            age_file.write(0, held)
    finally:
        os.close(fd)
    assert hashes == [hashlib.sha256(d).hexdigest() for d in photo_data]
    assert path.stat().st_size == age_file.file_size
    with open(path, "rb") as fh:
        assert age.AgeReader(fh, identities=[identity.identity]).read() == plain


def test_parts_must_fill_the_file(tmp_path, identity):
    part, data = photo(tmp_path, "p.jpg", 3 * CH)
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        age_file = age.AgeFileWriter(fd, 3 * CH, recipients=[identity.recipient])
        with pytest.raises(ValueError, match="fill"):
            writer.encrypt_parts(age_file, [part, b"x"])
    finally:
        os.close(fd)


def test_a_short_staged_member_is_an_error_not_a_wrong_file(tmp_path, identity):
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        age_file = age.AgeFileWriter(fd, 100, recipients=[identity.recipient])
        liar = writer.StreamPart(100, lambda: iter([b"x" * 60]))
        with pytest.raises(RuntimeError, match="shorter"):
            writer.encrypt_parts(age_file, [liar])
    finally:
        os.close(fd)


def test_the_medium_is_written_to_while_packing(tmp_path, identity, monkeypatch):
    """Written pages are handed to the kernel to write out as the file grows, not all at
    the final fsync: each call covers the next stretch of the file, before the end."""
    monkeypatch.setattr(writer, "WRITEBACK_BYTES", 2 * CH)
    calls: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def recording(fd, offset, length, advice):
        assert advice == os.POSIX_FADV_DONTNEED
        calls.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(writer.os, "posix_fadvise", recording)
    monkeypatch.setattr(writer, "PIECE_CHUNKS", 1)
    part, data = photo(tmp_path, "p.jpg", 10 * CH + 5)
    fd = os.open(tmp_path / "out.age", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        age_file = age.AgeFileWriter(fd, 10 * CH + 5, recipients=[identity.recipient])
        writer.encrypt_parts(age_file, [part])
    finally:
        os.close(fd)
    assert len(calls) >= 4
    assert [offset for offset, _ in calls] == [0] + [o + n for o, n in calls[:-1]]
    assert calls[-1][0] + calls[-1][1] < age_file.file_size

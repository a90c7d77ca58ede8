"""The kept file of an import run is read as a stream (issue 13: memory at 300,000 rows):
the check inflates the compressed file a slice at a time for each pass, and reads exactly
what the bytes themselves would give."""

from __future__ import annotations

import zlib

import pytest

from genchi.intake import services
from genchi.intake.demo_data import generate, to_csv_bytes
from genchi.intake.reader import DECODE_SLICE, CompressedSource, FileRefused, open_table
from genchi.intake.services import runs


def _both(data: bytes):
    return data, CompressedSource(zlib.compress(data, 3), len(data))


def _read(source):
    table = open_table(source, filename="list.csv")
    return table.encoding, table.header, table.estimated_rows, list(table.rows)


def test_a_compressed_source_reads_as_the_bytes_do():
    data = to_csv_bytes(generate(25_000, seed=3), encoding="cp932")
    assert len(data) > 2 * DECODE_SLICE  # several slices, characters cut at their edges
    plain, compressed = _both(data)
    assert _read(compressed) == _read(plain)
    assert compressed.whole() == data and compressed.head(10) == data[:10]


def test_a_bad_byte_far_in_is_named_at_the_same_line():
    good = to_csv_bytes(generate(8_000, seed=4), encoding="utf-8")
    lines = good.split(b"\n")
    lines[6000] = lines[6000] + b"\xff\xfe"
    data = b"\n".join(lines)
    reasons = []
    for source in _both(data):
        with pytest.raises(FileRefused) as refused:
            open_table(source, filename="list.csv", encoding="utf-8")
        reasons.append((refused.value.row, refused.value.message))
    assert reasons[0] == reasons[1] and reasons[0][0] == 6001


def test_empty_and_blank_files_are_refused_alike():
    for data in (b"", b"  \r\n\n "):
        for source in _both(data):
            with pytest.raises(FileRefused):
                open_table(source)


def test_a_run_hands_its_check_the_compressed_file_not_the_file(contract, people):
    data = to_csv_bytes(generate(50, seed=5), encoding="cp932")
    run = services.create_run(contract, data, filename="list.csv")
    kept = runs._take_kept_file(run)
    assert isinstance(kept, CompressedSource) and kept.size == len(data)
    assert len(kept.compressed) < len(data) and kept.whole() == data
    run = services.create_run(contract, data, filename="list.csv")
    services.check_run(run)
    assert run.good_rows + run.warning_rows == 50 and not run.error_rows

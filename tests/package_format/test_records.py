"""The record members: records.csv is BOM, CRLF and formula-safe; case records hold the
J3 items and nothing else."""

from __future__ import annotations

import io
import json

from tests.package_format.crafting import craft
from tests.package_format.packages import (
    CASES,
    decrypt_archive,
    members_of,
    open_cases,
    refused,
    write_cases,
)


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


def test_case_records_hold_only_the_j3_items(pkg_keys, pkg_out):
    extra = [dict(CASES[0], birth_date="1970-01-01")]
    path = craft(pkg_keys, pkg_out, records=extra)
    read = refused("bad_record", open_cases, pkg_keys, path, reason="case_fields")
    assert read.params == {"line": 1, "extra": "birth_date", "missing": ""}
    written = refused("bad_record", write_cases, pkg_keys, pkg_out, records=extra)
    assert (written.reason, written.params["record"]) == ("case_fields", 1)
    assert list(pkg_out.iterdir()) == [path]  # the refused write left nothing

"""Shared helpers of the format tests: sample records, writing and opening packages
between a ward and a contractor, and asserting a refusal's code."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from genchi.package_format import VerifiedPackage, WrittenPackage, open_package, write_package
from genchi.package_format.age import AgeReader
from genchi.package_format.errors import Refused
from genchi.package_format.records import blank_result

AGE = shutil.which("age")


needs_age = pytest.mark.skipif(AGE is None, reason="the age command is not installed")


CONTRACT = "K2026-001"


CASES = [
    {
        "case_ref": f"C{i:04d}",
        "postal_code": "160-0022",
        "address": "東京都新宿区新宿一丁目1番1号",
        "building_line": "メゾン新宿 101" if i % 2 else "",
        "name": "山田 太郎",
    }
    for i in range(40)
]


RESULT_COLUMNS = [("case_ref", "案件番号"), ("outcome", "調査結果"), ("visit_count", "訪問回数")]


def write_cases(keys, out: Path, records=CASES, **kw) -> WrittenPackage:
    args = dict(
        kind="cases",
        contract=CONTRACT,
        sender="WARD01",
        recipient="CON01",
        batch="B001",
        records=iter(records),
        signing_key=keys["ward"].signing,
        out_dir=out,
        recipients=[keys["contractor"].encryption.recipient],
    )
    args.update(kw)
    return write_package(**args)


def write_results(keys, out: Path, photos, case_ref: str = "C0001", **kw):
    """A result package from the contractor to the ward with one record and `photos`."""
    args = dict(
        kind="results",
        contract=CONTRACT,
        sender="CON01",
        recipient="WARD01",
        records=[blank_result(case_ref)],
        csv_columns=[("case_ref", "案件番号")],
        photos=photos,
        signing_key=keys["contractor"].signing,
        out_dir=out,
        recipients=[keys["ward"].encryption.recipient],
    )
    args.update(kw)
    return write_package(**args)


def open_cases(keys, path: Path, **kw) -> VerifiedPackage:
    args = dict(
        sender_key=keys["ward"].public_card(),
        expected_contract=CONTRACT,
        expected_recipient="CON01",
        identity=keys["contractor"].encryption.identity,
        already_imported=set(),
    )
    args.update(kw)
    return open_package(path, **args)


def refused(code: str, fn, *args, reason: str | None = None, **kw) -> Refused:
    """Call fn, which must be refused with `code` (and `reason`, when given)."""
    with pytest.raises(Refused) as info:
        fn(*args, **kw)
    assert info.value.code == code, str(info.value)
    if reason is not None:
        assert info.value.reason == reason, str(info.value)
    assert info.value.message is None  # the format chooses no words
    return info.value


def decrypt_archive(keys, path: Path) -> bytes:
    with open(path, "rb") as fh:
        return AgeReader(fh, identities=[keys["contractor"].encryption.identity]).read()


def members_of(tar_bytes: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers()}

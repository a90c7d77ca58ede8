"""Refused: the one exception of the format; its codes and reasons are registered, and an
unknown one is a programming error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from genchi.package_format import errors
from genchi.package_format.errors import CODES, REASONS, Refused, known_codes, register_codes


def test_a_refusal_carries_code_reason_params_and_no_words():
    refusal = Refused("hash_mismatch", detail="records.csv", reason="member_hash", name="x")
    assert (refusal.code, refusal.reason, refusal.params) == (
        "hash_mismatch",
        "member_hash",
        {"name": "x"},
    )
    assert refusal.message is None and refusal.detail == "records.csv"
    assert str(refusal) == "hash_mismatch/member_hash: records.csv"


def test_unknown_codes_and_reasons_are_programming_errors():
    with pytest.raises(ValueError, match="unknown refusal code"):
        Refused("no_such_code")
    with pytest.raises(ValueError, match="does not belong"):
        Refused("tampered", reason="member_hash")  # a reason of another code
    with pytest.raises(ValueError, match="does not belong"):
        Refused("tampered", reason="no_such_reason")


def test_every_reason_refines_a_code_of_the_format():
    assert set(REASONS.values()) <= set(CODES)
    assert {r for r, code in REASONS.items() if code == "bad_record"} >= errors.RECORD_PROBLEMS


def test_an_application_registers_its_own_codes(monkeypatch):
    monkeypatch.setattr(errors, "_registered", dict(errors._registered))
    register_codes({"stick_lost": "the stick was lost"})
    refusal = Refused("stick_lost", "USBメモリを紛失しました。")
    assert refusal.message == "USBメモリを紛失しました。"
    assert str(refusal) == "USBメモリを紛失しました。 [stick_lost]"
    assert "stick_lost" in known_codes() and "stick_lost" not in CODES
    register_codes({"stick_lost": "the stick was lost"})  # again, the same: fine
    with pytest.raises(ValueError, match="already registered"):
        register_codes({"tampered": "something else"})


def test_the_specification_lists_every_code_and_reason():
    """docs/package-format.md is the specification for other implementers: its section 14
    names every code of the format, and every reason Genchi adds."""
    spec = (Path(__file__).resolve().parents[2] / "docs" / "package-format.md").read_text()
    section = spec[spec.index("## 14. Refusal codes") :]
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in section.splitlines()
        if line.startswith("| `")
    }
    assert set(CODES) <= rows
    listed = set(re.findall(r"`([a-z_0-9]+)`", section))
    assert set(REASONS) <= listed

"""JSON with limits (bounded_json): what Python's json module would accept, convert at any
cost, or recurse into is refused with a kind the callers turn into a refusal."""

from __future__ import annotations

import json

import pytest

from genchi.package_format import bounded_json
from genchi.package_format.bounded_json import JsonLimit, depth, loads


def kind_of(data: bytes, **limits) -> str:
    with pytest.raises(JsonLimit) as info:
        loads(data, **{"max_bytes": 1 << 20, **limits})
    return info.value.kind


@pytest.mark.parametrize(
    "data",
    [b"NaN", b"[Infinity]", b'{"a":-Infinity}', b"1" * 5000, b"-" + b"9" * 16, b"1e999"],
    ids=["nan", "infinity", "minus_infinity", "5000_digits", "16_digits", "overflow"],
)
def test_numbers_json_should_not_hold_are_refused(data):
    assert kind_of(data) == "number"


def test_numbers_within_bounds_are_read():
    assert loads(b"[123456789012345,-123456789012345,1.5,-2e10]", max_bytes=100) == [
        123456789012345,
        -123456789012345,
        1.5,
        -2e10,
    ]
    assert kind_of(b"0." + b"1" * bounded_json.MAX_FLOAT_CHARS) == "number"


def test_nesting_is_bounded_before_the_parser_recurses():
    assert kind_of(b"[" * 10_000 + b"]" * 10_000) == "too_deep"
    assert kind_of(b'{"a":' * 10_000) == "too_deep"  # unclosed: refused all the same
    deepest = b"[" * bounded_json.MAX_DEPTH + b"]" * bounded_json.MAX_DEPTH
    assert loads(deepest, max_bytes=100) == json.loads(deepest)
    assert kind_of(b"[" + deepest + b"]") == "too_deep"


def test_brackets_inside_strings_do_not_count():
    many = json.dumps(["[" * 5000, '\\"{' * 100, "}]" * 50]).encode()
    assert depth(many) == 1
    assert loads(many, max_bytes=1 << 20)[0] == "[" * 5000
    assert depth(b'["\\\\", [[]]]') == 3  # an escaped backslash ends no string


def test_size_is_bounded_before_reading():
    assert kind_of(b"[" + b"0," * 100 + b"0]", max_bytes=100) == "too_large"


@pytest.mark.parametrize("data", [b"[1,]", b"\xff\xfe", b"", b'{"a" 1}', b"[1] [2]"])
def test_what_is_not_json_says_so(data):
    assert kind_of(data) == "not_json"

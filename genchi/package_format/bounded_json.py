"""JSON read with limits: every JSON document of the format is parsed through `loads`.

Python's json module accepts NaN and Infinity (not JSON), converts a number of any length
(a 5,000-digit integer raises a ValueError the callers did not expect, a 4,000-digit one
costs quadratic time), and recurses once per level of nesting (10,000 levels raise
RecursionError). A document that reaches the parser may come from anyone: a manifest
whose sender is not known here, records.jsonl before its hash is compared, a key card.
So the limits are checked before, or while, anything is converted:

- size: the caller's bound, checked before reading;
- depth: counted over the raw bytes (strings skipped) before the parser sees them;
- numbers: integers of at most MAX_INT_DIGITS digits, decimals of at most MAX_FLOAT_CHARS
  characters and finite; NaN, Infinity and -Infinity are refused.

Every failure is a `JsonLimit` (a ValueError) whose `kind` says which; the caller turns it
into its own refusal.
"""

from __future__ import annotations

import json
import math
import operator
import re
from itertools import accumulate, count
from typing import Any

MAX_INT_DIGITS = 15  # exact in any JSON implementation (2^53 > 10^15)
MAX_FLOAT_CHARS = 32
MAX_DEPTH = 16  # the manifest needs 3, a key card 2

# A string, closed or running to the end of the data, delimited as JSON delimits it (an
# escape takes the next character). Removing the strings leaves only structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


class JsonLimit(ValueError):
    """The document is not JSON, or exceeds a limit. `kind`: "not_json", "too_large",
    "too_deep" or "number"."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def _refuse_constant(name: str) -> Any:
    raise JsonLimit("number", f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonLimit("number", f"integer of {len(text)} characters")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_FLOAT_CHARS:
        raise JsonLimit("number", f"number of {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise JsonLimit("number", "number out of range")
    return value


def _deepest(brackets: bytes) -> int:
    steps = brackets.translate(_OPEN_CLOSE)  # an open counts 2, a close 0: depth = sum - n
    return max(0, max(map(operator.sub, accumulate(steps), count(1)), default=0))


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in `data`; brackets inside strings do not
    count. Linear in the size, without recursion."""
    return _deepest(_STRING.sub(b"", data).translate(None, _NOT_BRACKETS))


def within_depth(data: bytes, max_depth: int) -> bool:
    """Whether `data` nests at most `max_depth` deep. Counting every bracket over-counts
    only when strings hold brackets: when that count is within bounds, the strings need
    not be found (the common case, and much faster)."""
    if _deepest(data.translate(None, _NOT_BRACKETS)) <= max_depth:
        return True
    return depth(data) <= max_depth


def loads(
    data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH, encoding: str = "utf-8"
) -> Any:
    """Parse `data` (UTF-8 JSON) within the limits, or raise JsonLimit."""
    if len(data) > max_bytes:
        raise JsonLimit("too_large", f"{len(data)} bytes > {max_bytes}")
    if not within_depth(data, max_depth):
        raise JsonLimit("too_deep", f"nesting deeper than {max_depth}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise JsonLimit("not_json", "not UTF-8") from None
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
        )
    except JsonLimit:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise JsonLimit("not_json", str(exc)[:200]) from None

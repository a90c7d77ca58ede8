"""Stored messages of the intake, rendered in the reader's language.

What an import keeps — the run's summary, the reasons of its rows in the encrypted
report, its job's message — is stored as parts: the message's Japanese source text
(its gettext msgid, which is also its code) and its parameters, never the words in one
language. `render(parts)` writes them at display time in the active language (Japanese
by default, English when the page is shown in English). A parameter that is itself a
message (a reason of the address engine, say) is a part too and is rendered the same way.

Rows stored before this (plain text in `ImportRun.message`, `"message"` in a report's
issue) are shown as they were stored.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext, ngettext

Part = dict[str, Any]


def part(text: str, *, plural: str = "", count: str = "", **params: Any) -> Part:
    """One stored message: its msgid (mark it with gettext_noop) and its parameters;
    with `plural`, the plural msgid and the name of the parameter that counts."""
    stored: Part = {"text": str(text)}
    if params:
        stored["params"] = params
    if plural:
        stored["plural"], stored["count"] = str(plural), count
    return stored


def _param(value: Any) -> Any:
    if isinstance(value, Mapping) and "text" in value:
        return render([value])
    if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        return "、".join(render([v]) for v in value)
    return value


def render(parts: Iterable[Part] | str | None) -> str:
    """The words of stored parts in the active language (plain text as it is)."""
    if not parts:
        return ""
    if isinstance(parts, str):
        return parts
    out = []
    for p in parts:
        if not isinstance(p, Mapping):
            out.append(str(p))
            continue
        params = p.get("params")
        if p.get("plural") and params and isinstance(params.get(p.get("count")), int):
            text = ngettext(str(p["text"]), str(p["plural"]), params[p["count"]])
        else:
            text = gettext(str(p.get("text", "")))
        if params:
            # A translation that lost a placeholder: the words without the values.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                text = text % {k: _param(v) for k, v in params.items()}
        out.append(text)
    return "".join(out)


def dumps(parts: list[Part]) -> str:
    """Parts as text for a text column (a job's message)."""
    return json.dumps(parts, ensure_ascii=False)


def loads(text: str) -> list[Part] | str:
    """Parts stored by `dumps`, or the plain text of an older row."""
    if text.startswith('[{"text"'):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def shown_issue(stored: Mapping[str, Any]) -> dict[str, Any]:
    """An issue of a stored report as a page or the error list shows it, in the active
    language: row, column (the field's label), value, message, level."""
    from .columns import field_label

    if "parts" in stored:
        name = stored.get("field") or ""
        column = field_label(name) if name else ""
        message = render(stored["parts"])
    else:  # a report stored before the parts: its words as they were written
        column = stored.get("column", "")
        message = stored.get("message", "")
    return {
        "row": stored.get("row"),
        "column": column,
        "value": stored.get("value", ""),
        "message": message,
        "level": stored.get("level", "error"),
    }

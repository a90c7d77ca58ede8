"""The words of a USB ledger line, made when it is read (issue 13, item 11).

A ledger line (StickEvent) stores what Genchi has to say about it as a code and its
values (`text_code`, `text_params`), never as finished words: the page renders them in
the reader's language (Japanese by default, English when the interface is English), and
the printed ledger in Japanese (documents are Japanese, genchi.core.documents). What a
person typed (an inspection note, a wipe note) stays in `note`, as typed. Rows written
before the codes existed keep their Japanese `note` and are shown as stored (migration
0009 gave a code to those whose words it recognised).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from genchi.core.wareki import format_date

# The codes, one per kind of line Genchi writes.
REGISTERED = "registered"
WRITTEN = "written"  # before the delivery was recorded (and the command line without it)
WRITTEN_FOLDER = "written_folder"  # into the stick's folder on the machine running Genchi
WRITTEN_DOWNLOAD = "written_download"  # kept on the server to be downloaded onto the stick
DOWNLOADED = "downloaded"
LENT = "lent"
RETURNED = "returned"
WIPED_FILES = "wiped_files"


def _kind(params: Mapping[str, Any]) -> str:
    from .models import Package

    kind = params.get("kind", "")
    return str(Package.Kind(kind).label) if kind in Package.Kind.values else str(kind)


def _date(value: str) -> str:
    """A stored ISO date as the reader writes it: 令和8年12月1日, or 2026-12-01."""
    try:
        day = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    return format_date(day) if translation.get_language() in (None, "ja") else day.isoformat()


def _package(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": _kind(params),
        "count": params.get("count", 0),
        "package": params.get("package", ""),
        "digest": params.get("digest", ""),
        "stick": params.get("stick", ""),
    }


def _registered(p: Mapping[str, Any]) -> str:
    return _("製造番号 %(serial)s / %(capacity)sGB") % {
        "serial": p.get("serial", ""),
        "capacity": p.get("capacity_gb", ""),
    }


def _written(p: Mapping[str, Any]) -> str:
    return _("%(kind)s %(count)s件") % _package(p)


def _written_folder(p: Mapping[str, Any]) -> str:
    return _(
        "%(kind)s %(count)s件(パッケージ %(package)s、ダイジェスト %(digest)s…)を"
        "この機器に接続した USBメモリ %(stick)s に書き込み"
    ) % _package(p)


def _written_download(p: Mapping[str, Any]) -> str:
    return _(
        "%(kind)s %(count)s件(パッケージ %(package)s、ダイジェスト %(digest)s…)を"
        "USBメモリ %(stick)s に保存するためのダウンロードとして用意"
    ) % _package(p)


def _downloaded(p: Mapping[str, Any]) -> str:
    return _(
        "パッケージ %(package)s(ダイジェスト %(digest)s…)を USBメモリ %(stick)s に保存するため"
        "ダウンロード(%(n)s 回目)"
    ) % {**_package(p), "n": p.get("n", 1)}


def _lent(p: Mapping[str, Any]) -> str:
    org = p.get("org") or ""
    borrower = p.get("borrower", "") + (f"({org})" if org else "")
    return _("%(borrower)s 返却予定 %(due)s") % {
        "borrower": borrower,
        "due": _date(p.get("due", "")),
    }


def _returned(p: Mapping[str, Any]) -> str:
    text = _("返却者 %(name)s") % {"name": p.get("returned_by", "")}
    return f"{text} {_('期限超過')}" if p.get("overdue") else text


def _wiped_files(p: Mapping[str, Any]) -> str:
    return _("Genchi パッケージ %(n)s 件を上書き削除") % {"n": p.get("n", 0)}


RENDER: dict[str, Callable[[Mapping[str, Any]], str]] = {
    REGISTERED: _registered,
    WRITTEN: _written,
    WRITTEN_FOLDER: _written_folder,
    WRITTEN_DOWNLOAD: _written_download,
    DOWNLOADED: _downloaded,
    LENT: _lent,
    RETURNED: _returned,
    WIPED_FILES: _wiped_files,
}


def render(code: str, params: Mapping[str, Any] | None) -> str:
    """The words of `code` with `params` in the active language ("" for no or an unknown
    code: the caller then shows the stored note)."""
    build = RENDER.get(code or "")
    return build(params or {}) if build else ""


def event_text(event: Any) -> str:
    """A ledger line's content: Genchi's words, then what a person typed."""
    words = render(event.text_code, event.text_params)
    if words and event.note:
        return f"{words} {event.note}"
    return words or event.note

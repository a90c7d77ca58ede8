"""Mapping the list's Japanese column headers to Genchi's fields.

A header is recognised after NFKC, removing spaces and brackets, so "氏 名", "（氏名）"
and "氏名" are the same. A mapping chosen by hand (or saved as a preset) maps the
normalised header to a field name or to IGNORE.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from .messages import Part, part

IGNORE = "_ignore"

# Field name → (label, synonyms). Order is the order of the column table in the docs.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "taxpayer_no": (
        N_("宛名番号"),
        (
            "宛名番号",
            "納税者番号",
            "管理番号",
            "宛名コード",
            "納税義務者番号",
            "個人番号以外の管理番号",
        ),
    ),
    "name": (
        N_("氏名"),
        ("氏名", "名前", "納税者氏名", "滞納者氏名", "納税義務者氏名", "氏名漢字", "漢字氏名"),
    ),
    "name_kana": (
        N_("フリガナ"),
        ("フリガナ", "カナ", "ふりがな", "氏名カナ", "カナ氏名", "氏名フリガナ", "フリガナ氏名"),
    ),
    "postal_code": (
        N_("郵便番号"),
        ("郵便番号", "〒", "郵便", "転出先郵便番号", "現住所郵便番号"),
    ),
    "address": (
        N_("住所"),
        ("住所", "現住所", "転出先住所", "住所1", "所在地", "居所"),
    ),
    "building_line": (
        N_("方書"),
        ("方書", "建物名", "建物名・部屋番号", "建物名部屋番号", "住所2", "方書き", "アパート名"),
    ),
    # Ward-internal: kept for the ward's own prioritising, never handed over (J3).
    "amount_owed": (
        N_("滞納額"),
        ("滞納額", "滞納金額", "滞納税額", "未納額", "金額", "税額", "滞納額合計"),
    ),
    "tax_year": (
        N_("課税年度"),
        ("年度", "課税年度", "賦課年度", "最古年度", "滞納年度"),
    ),
    "notes": (N_("備考"), ("備考", "メモ", "摘要", "特記事項")),
}
REQUIRED_FIELDS = ("name", "address")
WARD_INTERNAL_FIELDS = ("taxpayer_no", "name_kana", "amount_owed", "tax_year", "notes")

_STRIP = re.compile(r"[\s()（）［］\[\]【】「」『』・:：*＊]")


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").strip().lstrip("\ufeff")
    return _STRIP.sub("", text)


_SYNONYMS: dict[str, str] = {}
for _field, (_label, _names) in FIELDS.items():
    for _name in _names:
        _SYNONYMS[normalise_header(_name)] = _field
# "・" is stripped, so "建物名・部屋番号" and "建物名部屋番号" meet; keep both spellings anyway.


def field_label(name: str) -> str:
    if name == IGNORE:
        return _("取り込まない")
    return _(FIELDS[name][0]) if name in FIELDS else name


def field_choices() -> list[tuple[str, str]]:
    return [(IGNORE, _("取り込まない"))] + [(k, _(v[0])) for k, v in FIELDS.items()]


@dataclass(frozen=True)
class ColumnMap:
    """Which file column feeds which field, and what is missing or unknown."""

    header: tuple[str, ...]
    by_field: dict[str, int]  # field → column index
    unknown: tuple[str, ...]  # headers neither recognised nor mapped to IGNORE
    missing: tuple[str, ...]  # required fields without a column
    duplicated: tuple[str, ...]  # fields fed by more than one column

    @property
    def ok(self) -> bool:
        return not (self.unknown or self.missing or self.duplicated)

    def problems(self) -> list[list[Part]]:
        """What stops the file, each problem as stored message parts."""
        out = []
        if self.missing:
            out.append(
                [
                    part(
                        N_("必須の列がありません: %(cols)s"),
                        cols=[part(FIELDS[f][0]) for f in self.missing],
                    )
                ]
            )
        if self.unknown:
            out.append(
                [
                    part(
                        N_(
                            "不明な列があります: %(cols)s。列の対応を指定してください"
                            "(不要な列は「取り込まない」を選びます)。"
                        ),
                        cols=[part(h) if h else part(N_("(空の見出し)")) for h in self.unknown],
                    )
                ]
            )
        if self.duplicated:
            out.append(
                [
                    part(
                        N_("同じ項目に複数の列が対応しています: %(cols)s"),
                        cols=[part(FIELDS[f][0]) for f in self.duplicated],
                    )
                ]
            )
        return out

    def as_mapping(self) -> dict[str, str]:
        """Normalised header → field (what a preset stores)."""
        mapping = {}
        for field_name, index in self.by_field.items():
            mapping[normalise_header(self.header[index])] = field_name
        return mapping


def map_columns(header: list[str], manual: dict[str, str] | None = None) -> ColumnMap:
    """Map each header: a manual choice first, then the synonyms."""
    manual = {normalise_header(k): v for k, v in (manual or {}).items()}
    by_field: dict[str, int] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for index, raw in enumerate(header):
        key = normalise_header(raw)
        target = manual.get(key) or _SYNONYMS.get(key)
        if target == IGNORE:
            continue
        if target is None or target not in FIELDS:
            if key or manual.get(key) != IGNORE:
                unknown.append(raw)
            continue
        if target in by_field:
            duplicated.append(target)
            continue
        by_field[target] = index
    missing = tuple(f for f in REQUIRED_FIELDS if f not in by_field)
    return ColumnMap(
        tuple(header), by_field, tuple(unknown), missing, tuple(dict.fromkeys(duplicated))
    )

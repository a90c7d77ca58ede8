"""Proving each row of the list: every reason is a Japanese sentence for the ward's staff.

`RowChecker.check(row_number, cells)` returns a `RowResult` with the row's issues and,
when it has no error, the values to store. It keeps a cache of normalised addresses,
so a file with many people at the same address normalises it once.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop as N_

from genchi.core.formulas import looks_like_formula
from genchi.core.wareki import ERA_INITIALS, ERAS, gregorian_year
from genchi.geo import NormalizedAddress, normalize, postal_codes_for, postal_lookup
from genchi.vault import blind_index, contract_scope

from . import search
from .columns import FIELDS, ColumnMap, field_label
from .messages import Part, part, render
from .models import HOLDER

ERROR = "error"
WARNING = "warning"

MAX_LENGTH = {
    "taxpayer_no": 32,
    "name": 100,
    "name_kana": 100,
    "postal_code": 16,
    "address": 200,
    "building_line": 100,
    "amount_owed": 20,
    "tax_year": 16,
    "notes": 1000,
}
# Small: a list has few people per address, so a larger cache mostly holds memory.
ADDRESS_CACHE_SIZE = 5_000
_HYPHENS = re.compile("[-‐‑‒–—―−ー－﹣]")
_SPACES = re.compile(r"\s+")
_KANA_OK = re.compile(r"^[\u3040-\u309F\u30A0-\u30FF\u31F0-\u31FF\uFF65-\uFF9F 　ー・]+$")
_TAXPAYER_NO_OK = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-_/]*$")
_ERA_NAMES = "|".join([name for name, _start in ERAS] + list(ERA_INITIALS.values()))
_ERA_YEAR = re.compile(rf"^({_ERA_NAMES})(元|\d{{1,2}})年?度?$", re.IGNORECASE)


DUPLICATE = "duplicate"  # a row not stored because the person is there already


@dataclass(frozen=True, slots=True)
class Issue:
    row: int
    field: str  # field name (e.g. "name"), "" for the whole row
    value: str
    parts: list[Part]  # the message, stored as code and parameters (`messages`)
    level: str = ERROR

    @property
    def column(self) -> str:
        """The column as the ward knows it (氏名), in the active language."""
        return field_label(self.field) if self.field else ""

    @property
    def message(self) -> str:
        return render(self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "parts": self.parts,
            "level": self.level,
        }


@dataclass
class RowResult:
    row: int
    issues: list[Issue] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    identity_key: str = ""
    name_key: str = ""
    taxpayer_key: str = ""
    duplicate_of: str = ""  # "file:<row>" or "held" when a duplicate

    @property
    def has_error(self) -> bool:
        return any(i.level == ERROR for i in self.issues)

    @property
    def has_warning(self) -> bool:
        return any(i.level == WARNING for i in self.issues)


def clean_postal_code(raw: str) -> str | None:
    """ "〒１６０－００２３", "160-0023", "1600023" → "1600023"; None when malformed."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = text.replace("〒", "")
    text = _HYPHENS.sub("", text)
    text = _SPACES.sub("", text)
    return text if re.fullmatch(r"\d{7}", text) else None


def format_postal_code(code: str) -> str:
    return f"{code[:3]}-{code[3:]}" if code and len(code) == 7 else code


# Control (Cc), format (Cf: zero-width, bidi overrides, BOM), surrogate and private-use
# characters, and the Unicode line/paragraph separators.
_CONTROL_TAIL = (
    "\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\ue000-\uf8ff\U000f0000-\U0010ffff\U000e0001-\U000e007f"
)
_CONTROL = re.compile("[\x00-\x1f" + _CONTROL_TAIL + "]")
_CONTROL_BUT_NEWLINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f" + _CONTROL_TAIL + "]")


def has_control_chars(text: str, *, allow_newlines: bool = False) -> bool:
    """Control, format, surrogate or private-use characters (tab/CR/LF allowed on request)."""
    return bool((_CONTROL_BUT_NEWLINES if allow_newlines else _CONTROL).search(text))


def parse_amount(text: str) -> int | None:
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace("¥", "")
    cleaned = cleaned.replace("円", "").replace("\\", "").strip()
    return int(cleaned) if re.fullmatch(r"\d{1,15}", cleaned) else None


def parse_tax_year(text: str) -> int | None:
    cleaned = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    m = re.fullmatch(r"(\d{4})年?度?", cleaned)
    if m:
        year = int(m.group(1))
        return year if 1950 <= year <= 2100 else None
    m = _ERA_YEAR.match(cleaned)
    if m:
        number = 1 if m.group(2) == "元" else int(m.group(2))
        return gregorian_year(m.group(1), number)
    return None


def identity_text(name: str, address_key: str) -> str:
    squeezed = _SPACES.sub("", unicodedata.normalize("NFKC", name))
    return f"{squeezed}\x1f{address_key}"


def address_key(result: NormalizedAddress, raw_address: str, building: str) -> str:
    building_key = _SPACES.sub("", unicodedata.normalize("NFKC", building or ""))
    building_key = _HYPHENS.sub("-", building_key)
    if result.level >= 2:
        return f"{result.pref}{result.city}{result.town}{result.rest}|{building_key}"
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw_address)) + "|" + building_key


def in_home_city(result: NormalizedAddress, home_city: str) -> bool:
    """True when the address lies in the ward's own city (e.g. 東京都新宿区, 神奈川県横浜市)."""
    if not home_city or result.level < 2:
        return False
    home = unicodedata.normalize("NFKC", home_city).replace(" ", "")
    full = result.pref + result.city
    if full.startswith(home) or result.city and home == result.city:
        return True
    # A ward setting without the prefecture ("新宿区") still matches.
    return bool(result.city) and result.city.startswith(home)


class RowChecker:
    """Validates rows of one file for one contract."""

    def __init__(self, colmap: ColumnMap, *, contract_id: int, home_city: str = "") -> None:
        self.colmap = colmap
        self.contract_id = contract_id
        self.home_city = home_city
        self._address_cache: dict[tuple[str, str | None], NormalizedAddress] = {}
        self._postal_exists: dict[str, bool] = {}
        self._codes_for: dict[tuple[str, str, str], list[str]] = {}

    def normalise(self, line: str, postal: str | None) -> NormalizedAddress:
        key = (line, postal)
        found = self._address_cache.get(key)
        if found is None:
            found = normalize(line, postal)
            if len(self._address_cache) >= ADDRESS_CACHE_SIZE:
                self._address_cache.clear()  # bounded memory on files of distinct addresses
            self._address_cache[key] = found
        return found

    def _normalise_with_postal(
        self, line: str, postal: str | None
    ) -> tuple[NormalizedAddress, bool | None]:
        """The address, and whether the postal code matches it.

        Fast path: when the line reads unambiguously to town level and the code is one
        of the codes the town implies, it matches; anything else is left to the engine's
        own postal check.
        """
        base = self.normalise(line, None)
        if postal is None:
            return base, None
        if base.level == 3 and not base.candidates and postal in self._codes(base):
            return base, True
        checked = self.normalise(line, postal)
        return checked, checked.postal_match

    def _postal_known(self, code: str) -> bool:
        known = self._postal_exists.get(code)
        if known is None:
            known = bool(postal_lookup(code))
            self._postal_exists[code] = known
        return known

    def _codes(self, result: NormalizedAddress) -> list[str]:
        key = (result.pref, result.city, result.town)
        codes = self._codes_for.get(key)
        if codes is None:
            codes = postal_codes_for(*key) if result.level >= 2 else []
            self._codes_for[key] = codes
        return codes

    def check(self, row: int, cells: list[str]) -> RowResult:
        result = RowResult(row)
        issues = result.issues
        raw: dict[str, str] = {}
        for name, index in self.colmap.by_field.items():
            value = cells[index] if index < len(cells) else ""
            raw[name] = (value or "").strip().strip("\u3000") if name != "notes" else value or ""

        def add(
            name: str, message: Part | list[Part], level: str = ERROR, value: str | None = None
        ) -> None:
            shown = raw.get(name, "") if value is None else value
            parts = message if isinstance(message, list) else [message]
            issues.append(Issue(row, name if name in FIELDS else "", shown[:200], parts, level))

        # Text hygiene for every column: controls, absurd lengths, formulas.
        for name, value in raw.items():
            if not value:
                continue
            if has_control_chars(value, allow_newlines=(name == "notes")):
                add(name, part(N_("制御文字(改行・タブなど)が含まれています。")))
            limit = MAX_LENGTH.get(name, 200)
            if len(value) > limit:
                add(
                    name,
                    part(
                        N_("長すぎます(%(n)d 文字。上限 %(limit)d 文字)。"),
                        n=len(value),
                        limit=limit,
                    ),
                )
            if name not in ("amount_owed",) and looks_like_formula(value):
                add(name, part(N_("数式とみなされる文字(= + - @)で始まっています。")))
        for name in ("name", "address"):
            if not raw.get(name):
                add(name, part(N_("必須項目が空です。")), value="")
        if result.has_error:
            return result

        values: dict[str, Any] = {
            "name": _SPACES.sub(" ", raw["name"].replace("\u3000", " ")).strip(),
            "taxpayer_no": raw.get("taxpayer_no", ""),
            "name_kana": raw.get("name_kana", ""),
            "building_line": raw.get("building_line", ""),
        }
        if values["taxpayer_no"] and not _TAXPAYER_NO_OK.match(
            unicodedata.normalize("NFKC", values["taxpayer_no"])
        ):
            add("taxpayer_no", part(N_("宛名番号には英数字とハイフンだけを使えます。")))
        if values["name_kana"] and not _KANA_OK.match(values["name_kana"]):
            add("name_kana", part(N_("フリガナにカナ以外の文字が含まれています。")), WARNING)

        # Ward-internal columns (never handed over, J3).
        notes: dict[str, Any] = {}
        if raw.get("amount_owed"):
            amount = parse_amount(raw["amount_owed"])
            if amount is None:
                add("amount_owed", part(N_("滞納額は 0 以上の整数(円)で入力してください。")))
            else:
                notes["amount_owed"] = amount
        if raw.get("tax_year"):
            year = parse_tax_year(raw["tax_year"])
            if year is None:
                add("tax_year", part(N_("年度として読めません(例: 2023、令和5)。")))
            else:
                notes["tax_year"] = year
        if raw.get("notes"):
            notes["notes"] = raw["notes"].strip()

        # Postal code: well formed, existing, and consistent with the address.
        postal: str | None = None
        if raw.get("postal_code"):
            postal = clean_postal_code(raw["postal_code"])
            digits = unicodedata.normalize("NFKC", raw["postal_code"]).strip()
            if (
                postal is None
                and re.fullmatch(r"\d{6}", digits)
                and self._postal_known("0" + digits)
            ):
                # Excel drops the leading 0 of a code kept as a number (北海道: 0xx-xxxx).
                postal = "0" + digits
                add("postal_code", part(N_("先頭の 0 が欠けていたため補いました。")), WARNING)
            if postal is None:
                add(
                    "postal_code",
                    part(N_("郵便番号の形式が正しくありません(7 桁の数字。例: 160-0023)。")),
                )
            elif not self._postal_known(postal):
                add("postal_code", part(N_("存在しない郵便番号です。")))
                postal = None

        address_line = _SPACES.sub(" ", raw["address"].replace("\u3000", " ")).strip()
        norm, postal_match = self._normalise_with_postal(address_line, postal)
        if norm.error:
            # The engine's reason is already a sentence ("住所として読み取れません" …).
            add(
                "address",
                part(
                    N_("%(reason)s。都道府県か市区町村から書かれた住所か確認してください。"),
                    reason=part(norm.error),
                ),
            )
        elif norm.level <= 1:
            add(
                "address",
                part(N_("市区町村を特定できません。住所を確認してください。")),
            )
        else:
            if in_home_city(norm, self.home_city):
                add(
                    "address",
                    part(
                        N_("区内(%(city)s)の住所です。転出した人だけが対象です。"),
                        city=self.home_city,
                    ),
                )
            if norm.level == 2:
                hint = "、".join(c.pref + c.city + c.town for c in norm.candidates[:3])
                message = [part(N_("町名まで特定できません。登録後に住所の手修正が必要です。"))]
                if hint:
                    message.append(part(N_("候補: %(hint)s"), hint=hint))
                add("address", message, WARNING)
            for warning in norm.warnings:
                if "郵便番号" in warning and postal_match is False:
                    continue
                # The engine's words: shown translated where the catalogue has them.
                add("address", part(warning), WARNING)
            if postal and postal_match is False:
                implied = self._codes(norm)
                mismatch = [part(N_("郵便番号が住所と一致しません。"))]
                if implied:
                    mismatch.append(
                        part(
                            N_("住所から求めた郵便番号: %(codes)s"),
                            codes="、".join(format_postal_code(c) for c in implied[:3]),
                        )
                    )
                add("postal_code", mismatch)
            if not raw.get("postal_code"):
                implied = self._codes(norm) if norm.level >= 3 else []
                if implied:
                    postal = implied[0]
                    add(
                        "postal_code",
                        part(
                            N_("郵便番号がありません。住所から %(code)s を補いました。"),
                            code=format_postal_code(postal),
                        ),
                        WARNING,
                        value="",
                    )
                else:
                    add(
                        "postal_code",
                        part(N_("郵便番号がなく、町名まで特定できないため住所からも補えません。"))
                        if norm.level < 3
                        else part(N_("郵便番号がなく、住所からも求められません。")),
                        WARNING,
                        value="",
                    )
        if result.has_error:
            return result

        building = values["building_line"]
        if not building and norm.building:
            building = norm.building
            if address_line.endswith(norm.building):
                address_line = address_line[: -len(norm.building)].rstrip(" 、,")
        values.update(
            {
                "building_line": building,
                "address": address_line,
                "postal_code": format_postal_code(postal or ""),
                "pref": norm.pref,
                "city": norm.city,
                "town": norm.town,
                "rest": norm.rest,
                "lat": "" if norm.lat is None else f"{norm.lat:.6f}",
                "lng": "" if norm.lng is None else f"{norm.lng:.6f}",
                "geocode_level": norm.level,
                "ward_notes": json.dumps(notes, ensure_ascii=False) if notes else "",
            }
        )
        result.values = values
        result.identity_key = blind_index(
            contract_scope(self.contract_id, HOLDER),
            identity_text(values["name"], address_key(norm, address_line, building)),
        )
        result.name_key = search.name_key(self.contract_id, values["name"])
        result.taxpayer_key = search.taxpayer_key(self.contract_id, values.get("taxpayer_no", ""))
        return result

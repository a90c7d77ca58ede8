"""Normalise and geocode one free-form Japanese address line (see genchi.geo)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from genchi.geo import gazetteer as G
from genchi.geo import postal as P
from genchi.geo import text as T

MAX_LENGTH = 1000

_NUM = "[0-9]+|[〇一二三四五六七八九十百千]+(?=[番号の之ノ丁地-]|$|\\s)"
_SEP = "丁目|番地の|番地|番の|番|号の|地割|[の之ノ-]"
# 番地・号: "1番地43号", "1-43", "五番地の二", "270番地", "3丁目5-2".
_BANCHI_RE = re.compile(f"(?:{_NUM})(?:(?:{_SEP})(?:{_NUM}))*(?:番地|番|号|丁目|地割)?")
_NUM_RE = re.compile("[0-9]+|[〇一二三四五六七八九十百千]+")
_FIRST_NUM_RE = re.compile("[0-9〇一二三四五六七八九十]")
_POSTAL_IN_LINE_RE = re.compile(r"^〒?\s*(\d{3})-(\d{4})\s*|^〒\s*(\d{7})\s*")
_UNDECIDED_RE = re.compile(r"\s*(?:番地)?[(（]?以下未定[)）]?\s*")
_BUILDING_STRIP = " 、,，・-"
_KYOTO_DIRECTION_RE = re.compile("通.*(?:上る|上ル|下る|下ル|東入|西入|上がる|下がる)")
_BRANCH_LETTER_RE = re.compile(r"-[A-Za-z](?=$|\s)")
_ENUMERATION_RE = re.compile(r"^\s*[・、,，]\s*[0-9]")
_NOT_A_BUILDING = frozenset(("号", "番", "番地", "()", "( )"))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible reading of an ambiguous line."""

    pref: str
    city: str
    town: str
    lat: float | None
    lng: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pref": self.pref,
            "city": self.city,
            "town": self.town,
            "lat": self.lat,
            "lng": self.lng,
        }


@dataclass(frozen=True, slots=True)
class NormalizedAddress:
    """The result of `normalize`.  `level`: 0 nothing, 1 prefecture, 2 city, 3 town."""

    pref: str = ""
    city: str = ""
    town: str = ""
    rest: str = ""
    building: str = ""
    lat: float | None = None
    lng: float | None = None
    level: int = 0
    candidates: tuple[Candidate, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    postal_code: str | None = None
    postal_match: bool | None = None

    @property
    def address(self) -> str:
        """pref + city + town + rest, the normalised address without the building."""
        return self.pref + self.city + self.town + self.rest

    def postal_codes(self) -> list[str]:
        """Postal codes for this address, best first ([] below city level)."""
        if self.level < 2:
            return []
        return P.codes_for(self.pref, self.city, self.town)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pref": self.pref,
            "city": self.city,
            "town": self.town,
            "rest": self.rest,
            "building": self.building,
            "lat": self.lat,
            "lng": self.lng,
            "level": self.level,
            "candidates": [c.to_dict() for c in self.candidates],
            "warnings": list(self.warnings),
            "error": self.error,
            "postal_code": self.postal_code,
            "postal_match": self.postal_match,
        }


def _failure(error: str, warnings: list[str] | None = None) -> NormalizedAddress:
    return NormalizedAddress(error=error, warnings=tuple(warnings or ()))


def _split_rest(text: str, warnings: list[str], town_found: bool = True) -> tuple[str, str]:
    """番地・号 in N-N form, and the building part (方書).

    Without a town, unparsed text stays in `rest`: it is the unknown town, not a building.
    """
    if "以下未定" in text:
        text = _UNDECIDED_RE.sub(" ", text)
        warnings.append("番地以下が未定です")
    text = text.strip(" -")
    if not text:
        return "", ""
    m = _BANCHI_RE.match(text)
    prefix = ""
    if m is None:
        first = _FIRST_NUM_RE.search(text)
        if first is None:
            # Kyoto directions (寺之内通大宮西入) are part of the address, not a building.
            if _KYOTO_DIRECTION_RE.search(text) or not town_found:
                return text, ""
            return "", _clean_building(text)
        prefix = text[: first.start()]
        m = _BANCHI_RE.match(text, first.start())
        if m is None or " " in prefix or len(prefix) > 12:
            if _KYOTO_DIRECTION_RE.search(text):
                return text, ""
            rest, _, building = text.partition(" ")
            return rest, _clean_building(building)
    numbers = []
    for n in _NUM_RE.findall(m.group(0)):
        value = T.to_int(n)
        numbers.append(str(value) if value is not None else n)
    rest = prefix.strip(" -") + "-".join(numbers)
    tail = text[m.end() :]
    branch = _BRANCH_LETTER_RE.match(tail)
    if branch:  # 5-30-A: a letter 枝番 belongs to the number
        rest += branch.group(0)
        tail = tail[branch.end() :]
    if _ENUMERATION_RE.match(tail):
        # 32-14・16 / 24-5、15、16: several numbers, not a building.
        rest += tail.strip()
        tail = ""
    return rest, _clean_building(tail)


def _clean_building(text: str) -> str:
    text = text.strip(_BUILDING_STRIP)
    return "" if text in _NOT_A_BUILDING else text


def _longest(table: dict[str, Any], lengths: tuple[int, ...], s: str, pos: int) -> Any:
    room = len(s) - pos
    for length in lengths:
        if length > room:
            continue
        value = table.get(s[pos : pos + length])
        if value is not None:
            return value, pos + length
    return None


def _all_city_hits(
    table: dict[str, tuple[tuple[str, str], ...]], lengths: tuple[int, ...], s: str, pos: int
) -> list[tuple[str, str, int]]:
    hits = []
    room = len(s) - pos
    for length in lengths:
        if length > room:
            continue  # a slice past the end would repeat a shorter key
        entries = table.get(s[pos : pos + length])
        if entries is not None:
            for pref, city in entries:
                hits.append((pref, city, pos + length))
    return hits


def _match_town(
    index: G.CityIndex, c: str, pos: int, markers: list[tuple[int, int]]
) -> G.TownHit | None:
    hit = index.match_at(c, pos, markers)
    if hit is not None:
        return hit
    if index.kyoto:
        # Kyoto addresses put street directions (通り名: 烏丸通四条下る) before the town;
        # take the longest town key found anywhere after the city, the last on a tie.
        best: G.TownHit | None = None
        best_len = 0
        for start in range(pos + 1, len(c)):
            hit = index.match_at(c, start, markers)
            if hit is not None and not hit.fallback and hit.end - start >= best_len:
                best, best_len = hit, hit.end - start
        return best
    return None


def normalize(line: str, postal_code: str | None = None) -> NormalizedAddress:
    """Normalise one address line.  Never raises on bad input: see `error`."""
    if not isinstance(line, str):
        return _failure("住所が文字列ではありません")
    if len(line) > MAX_LENGTH:
        return _failure(f"{MAX_LENGTH}文字を超える行は住所として扱いません")
    warnings: list[str] = []
    text, had_controls = T.strip_controls(line)
    if had_controls:
        warnings.append("制御文字を取り除きました")
    w = T.prepare(text)
    if not w:
        return _failure("空の行です", warnings)

    m = _POSTAL_IN_LINE_RE.match(w)
    if m is not None:
        in_line = m.group(3) or (m.group(1) + m.group(2))
        if postal_code is None:
            postal_code = in_line
        w = w[m.end() :]

    c, c_marks, f_marks, markers = T.canon(T.fold(w))
    g = G.get()
    pref = city = town = ""
    lat = lng = None
    candidates: list[Candidate] = []
    end = 0  # canonical position after the last component found
    city_index: G.CityIndex | None = None
    town_hit: G.TownHit | None = None

    pref_hit = _longest(g.pref_keys, g.pref_lengths, c, 0)
    if pref_hit is None:
        city_hits = _all_city_hits(g.city_keys, g.city_lengths, c, 0)
    else:
        # Only a city named like a prefecture (千葉市, 京都市北区) can outrank it.
        city_hits = _all_city_hits(g.same_named_keys, g.same_named_lengths, c, 0)
    use_city_hits = bool(city_hits) and (pref_hit is None or city_hits[0][2] > pref_hit[1])
    if use_city_hits:
        prefs = {h[0] for h in city_hits}
        if len(prefs) == 1:
            pref, city, end = city_hits[0]
        else:
            # Prefecture left out and the city name exists in several (府中市, 伊達市):
            # keep the readings that also find a town.
            with_town = []
            for p, ct, e in city_hits:
                idx = g.city_index(p, ct)
                th = _match_town(idx, c, e, markers)
                if th is not None:
                    with_town.append((p, ct, e, idx, th))
            if with_town:
                best_len = max(x[4].reach for x in with_town)
                best = [x for x in with_town if x[4].reach == best_len]
                pref, city, end, city_index, town_hit = best[0]
                if len(best) > 1:
                    warnings.append("都道府県が省略されており、複数の候補があります")
                    for p, ct, _e, idx, th in best:
                        t = idx.towns[th.ids[0]]
                        candidates.append(Candidate(p, ct, t.name, t.lat, t.lng))
            else:
                for p, ct, _e in city_hits:
                    candidates.append(Candidate(p, ct, "", None, None))
                return _finish(
                    w, c_marks, f_marks, 0, "", "", "", None, None, candidates,
                    ["都道府県を特定できません。候補を確認してください", *warnings],
                    postal_code, error=None,
                )  # fmt: skip
    elif pref_hit is not None:
        pref, end = pref_hit
        city_hit = _longest(g.pref_city_keys[pref], g.pref_city_lengths[pref], c, end)
        if city_hit is not None:
            city, end = city_hit

    if not city and not candidates:
        found = _ward_omitted(g, c, (end, 0) if pref else (0,), pref, markers, warnings)
        if found is not None:
            pref, city, end, city_index, town_hit, ward_candidates = found
            candidates.extend(ward_candidates)

    if city:
        if city_index is None:
            city_index = g.city_index(pref, city)
            town_hit = _match_town(city_index, c, end, markers)
        if town_hit is not None:
            ids, town_end = town_hit.ids, town_hit.end
            chosen = ids[0]
            if len(ids) > 1:
                chosen, exact = _pick_spelling(city_index, ids, w, c_marks, f_marks, end, town_end)
                if not exact:
                    for i in ids:
                        t = city_index.towns[i]
                        candidates.append(Candidate(pref, city, t.name, t.lat, t.lng))
                    warnings.append("町名の候補が複数あります")
            t = city_index.towns[chosen]
            town, lat, lng = t.name, t.lat, t.lng
            end = town_end
            if town_hit.koaza is not None and town_hit.koaza[2] is not None:
                lat, lng = town_hit.koaza[2], town_hit.koaza[3]
    level = 3 if town else 2 if city else 1 if pref else 0
    return _finish(
        w, c_marks, f_marks, level, pref, city, town, lat, lng, candidates, warnings,
        postal_code, end=end,
    )  # fmt: skip


def _ward_omitted(
    g: G.Gazetteer,
    c: str,
    positions: tuple[int, ...],
    pref: str,
    markers: list[tuple[int, int]],
    warnings: list[str],
) -> tuple[str, str, int, G.CityIndex | None, G.TownHit | None, list[Candidate]] | None:
    """横浜市港北区 typed as 横浜市日吉本町: find the ward from the town."""
    for pos in positions:
        hit = _longest(g.ward_parents, g.ward_parent_lengths, c, pos)
        if hit is None:
            continue
        wards, end = hit
        wards = [w for w in wards if not pref or w[0] == pref]
        if not wards:
            continue
        found = []
        for ward_pref, ward in wards:
            index = g.city_index(ward_pref, ward)
            th = _match_town(index, c, end, markers)
            if th is not None:
                found.append((ward_pref, ward, index, th))
        if not found:
            warnings.append("区が省略されており、区を特定できません")
            return (
                wards[0][0],
                "",
                end,
                None,
                None,
                [Candidate(p, w, "", None, None) for p, w in wards],
            )
        reach = max(f[3].reach for f in found)
        best = [f for f in found if f[3].reach == reach]
        ward_pref, ward, index, th = best[0]
        candidates = []
        if len(best) > 1:
            warnings.append("区が省略されており、複数の区に同じ町名があります")
            for p, w, idx, t in best:
                town = idx.towns[t.ids[0]]
                candidates.append(Candidate(p, w, town.name, town.lat, town.lng))
        else:
            warnings.append(f"区が省略されていたため、町名から{ward}と判断しました")
        return ward_pref, ward, end, index, th, candidates
    return None


def _pick_spelling(
    index: G.CityIndex,
    ids: tuple[int, ...],
    w: str,
    c_marks: list[int],
    f_marks: list[int],
    start: int,
    stop: int,
) -> tuple[int, bool]:
    """Several towns share a folded key (旭ケ丘 / 旭が丘): prefer the one typed.

    Returns the town and whether the typed spelling decided it."""
    typed = w[T.to_folded_pos(start, c_marks, f_marks) : T.to_folded_pos(stop, c_marks, f_marks)]
    typed = typed.replace(" ", "")
    for i in ids:
        if index.towns[i].name == typed:
            return i, True
    folded = T.fold(typed)
    matches = [i for i in ids if T.fold(index.towns[i].name) == folded]
    if len(matches) == 1:
        return matches[0], True
    return ids[0], False


def _finish(
    w: str,
    c_marks: list[int],
    f_marks: list[int],
    level: int,
    pref: str,
    city: str,
    town: str,
    lat: float | None,
    lng: float | None,
    candidates: list[Candidate],
    warnings: list[str],
    postal_code: str | None,
    end: int = 0,
    error: str | None = None,
) -> NormalizedAddress:
    if level == 0 and not candidates:
        return _with_postal(
            NormalizedAddress(
                error="住所として読み取れません", warnings=tuple(warnings), building=""
            ),
            postal_code,
            list(warnings),
        )
    rest, building = "", ""
    if level > 0:
        f_end = T.to_folded_pos(end, c_marks, f_marks)
        rest, building = _split_rest(w[f_end:], warnings, town_found=level == 3)
    result = NormalizedAddress(
        pref=pref,
        city=city,
        town=town,
        rest=rest,
        building=building,
        lat=lat,
        lng=lng,
        level=level,
        candidates=tuple(candidates),
        warnings=tuple(warnings),
        error=error,
    )
    return _with_postal(result, postal_code, warnings)


def _with_postal(
    result: NormalizedAddress, postal_code: str | None, warnings: list[str]
) -> NormalizedAddress:
    if postal_code is None or postal_code == "":
        return result
    clean = P.clean_code(postal_code)
    warnings = list(result.warnings)
    if clean is None:
        warnings.append(f"郵便番号「{postal_code}」の形式が正しくありません（7桁の数字）")
        return _replace(result, warnings=tuple(warnings), postal_match=False)
    places = P.lookup(clean)
    if not places:
        warnings.append(f"郵便番号 {clean} は存在しません")
        return _replace(result, warnings=tuple(warnings), postal_code=clean, postal_match=False)
    if result.level < 2:
        return _replace(result, postal_code=clean, postal_match=None)
    match = any(P.place_matches(p, result.pref, result.city, result.town) for p in places)
    if not match:
        where = "、".join(sorted({p.pref + p.city + p.town for p in places}))
        warnings.append(f"郵便番号 {clean} は住所と一致しません（{where}）")
    return _replace(result, warnings=tuple(warnings), postal_code=clean, postal_match=match)


def _replace(result: NormalizedAddress, **changes: Any) -> NormalizedAddress:
    values = {name: getattr(result, name) for name in NormalizedAddress.__dataclass_fields__}
    values.update(changes)
    return NormalizedAddress(**values)

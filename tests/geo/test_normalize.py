"""The address engine on real addresses, one test per variant family of issue 3."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from genchi.geo import NormalizedAddress, normalize


def ptr(line: str, postal_code: str | None = None) -> tuple[str, str, str, str]:
    r = normalize(line, postal_code)
    return r.pref, r.city, r.town, r.rest


SHINJUKU = ("東京都", "新宿区", "西新宿二丁目", "8-1")


def test_public_api_shape():
    r = normalize("東京都新宿区西新宿２丁目８番１号 都庁第一本庁舎")
    assert isinstance(r, NormalizedAddress)
    assert (r.pref, r.city, r.town, r.rest, r.building) == (*SHINJUKU, "都庁第一本庁舎")
    assert r.level == 3
    assert r.lat == pytest.approx(35.68945) and r.lng == pytest.approx(139.691774)
    assert r.error is None and r.candidates == () and r.warnings == ()
    assert r.postal_match is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.pref = "x"  # type: ignore[misc]
    d = r.to_dict()
    assert set(d) >= {
        "pref", "city", "town", "rest", "building", "lat", "lng", "level",
        "candidates", "warnings", "error", "postal_match",
    }  # fmt: skip
    assert r.address == "東京都新宿区西新宿二丁目8-1"


def test_full_and_half_width():
    assert ptr("東京都千代田区千代田１－１") == ("東京都", "千代田区", "千代田", "1-1")
    # half-width katakana comes out full width
    assert normalize("東京都新宿区西新宿2-8-1 ｺｰﾎﾟ山田").building == "コーポ山田"
    assert ptr("東京都新宿区西新宿２丁目８－１") == SHINJUKU


def test_kanji_and_arabic_numerals():
    assert ptr("東京都新宿区西新宿二丁目八番一号") == SHINJUKU
    assert ptr("東京都新宿区西新宿2丁目8番1号") == SHINJUKU
    assert ptr("和歌山県東牟婁郡串本町串本１２３４") == (
        "和歌山県",
        "東牟婁郡串本町",
        "串本",
        "1234",
    )
    assert ptr("東京都新宿区西新宿二丁目二十三番地十") == (
        "東京都",
        "新宿区",
        "西新宿二丁目",
        "23-10",
    )


@pytest.mark.parametrize("dash", ["-", "－", "ー", "‐", "−", "ｰ"])
def test_hyphen_look_alikes(dash):
    assert ptr(f"東京都新宿区西新宿2{dash}8{dash}1") == SHINJUKU


def test_spaces():
    assert ptr("東京都 新宿区 西新宿 2-8-1") == SHINJUKU
    assert ptr("東京都　新宿区　西新宿２丁目　８－１") == SHINJUKU


def test_banchi_ban_go_forms():
    city = "京都府京都市上京区"
    assert ptr(city + "元伊佐町２７０番地")[2:] == ("元伊佐町", "270")
    assert ptr(city + "元百万遍町５５３－４")[2:] == ("元百万遍町", "553-4")
    assert ptr("京都府京田辺市同志社山手４丁目１－４３")[2:] == ("同志社山手四丁目", "1-43")
    assert ptr("東京都新宿区西新宿二丁目8番地の1")[3] == "8-1"
    assert ptr("東京都新宿区西新宿二丁目8番地1")[3] == "8-1"


def test_chome_as_leading_number():
    assert ptr("東京都新宿区西新宿2-8-1") == SHINJUKU
    assert ptr("大阪府大阪市北区梅田1-1-3")[2:] == ("梅田一丁目", "1-3")
    # bare number then a building: 大通西10 is 大通西十丁目
    r = normalize("北海道札幌市中央区大通西10 ABCビル")
    assert (r.town, r.building) == ("大通西十丁目", "ABCビル")


def test_missing_prefecture():
    assert ptr("新宿区西新宿2-8-1") == SHINJUKU
    assert ptr("千葉市中央区千葉港1-1")[:3] == ("千葉県", "千葉市中央区", "千葉港")
    assert ptr("京都市中京区寺町通御池上る上本能寺前町488")[:3] == (
        "京都府",
        "京都市中京区",
        "上本能寺前町",
    )
    # 府中市 exists in 東京都 and 広島県; the town decides.
    assert ptr("府中市宮西町2-24")[:3] == ("東京都", "府中市", "宮西町二丁目")


def test_missing_prefecture_ambiguous_gives_candidates():
    r = normalize("伊達市")
    assert r.level == 0 and r.error is None
    assert {(c.pref, c.city) for c in r.candidates} == {("北海道", "伊達市"), ("福島県", "伊達市")}
    assert r.warnings


def test_missing_gun():
    assert ptr("三重県川越町豊田一色123")[:3] == ("三重県", "三重郡川越町", "大字豊田一色")
    assert ptr("川越町大字豊田一色123")[:3] == ("三重県", "三重郡川越町", "大字豊田一色")
    assert ptr("和歌山県串本町串本1234")[:3] == ("和歌山県", "東牟婁郡串本町", "串本")


def test_oaza_and_aza():
    assert ptr("埼玉県川口市大字芝字宮根3938-5")[:3] == ("埼玉県", "川口市", "大字芝")
    assert ptr("三重県三重郡川越町豊田一色123")[2] == "大字豊田一色"
    # 小字 after the town refines the coordinates and stays in rest.
    r = normalize("岩手県奥州市水沢南矢中34番地の25")
    assert (r.town, r.rest) == ("水沢", "南矢中34-25")


@pytest.mark.parametrize("spelling", ["旭ケ丘", "旭ヶ丘", "旭が丘"])
def test_ke_variants(spelling):
    assert ptr(f"北海道札幌市中央区{spelling}一丁目5-1")[2:] == ("旭ケ丘一丁目", "5-1")


def test_no_variants():
    assert ptr("愛知県名古屋市中区三の丸三丁目1番1号")[2] == "三の丸三丁目"
    assert ptr("愛知県名古屋市中区三ノ丸3-1-1")[2] == "三の丸三丁目"


@pytest.mark.parametrize(
    ("line", "city", "town"),
    [
        ("東京都港区髙輪1-1-1", "港区", "高輪一丁目"),
        ("神奈川県川﨑市川﨑区駅前本町11-1", "川崎市川崎区", "駅前本町"),
        ("広島県福山市神邊町大字川北1", "福山市", "神辺町大字川北"),
        ("茨城県竜ヶ崎市3710", "龍ヶ崎市", ""),
    ],
)
def test_old_and_variant_kanji(line, city, town):
    r = normalize(line)
    assert (r.city, r.town) == (city, town)


def test_kyoto_street_names():
    r = normalize("京都府京都市中京区寺町通御池上る上本能寺前町488 ビル3F")
    assert (r.town, r.rest, r.building) == ("上本能寺前町", "488", "ビル3F")
    r = normalize("京都府京都市東山区大和大路通正面下る大和大路2丁目537")
    assert (r.town, r.rest) == ("大和大路二丁目", "537")


def test_number_suffix_kinds_are_not_mixed():
    # 東鷹栖一線 must not become 東鷹栖一条三丁目 (一線3-11 vs 一条三丁目).
    assert ptr("北海道旭川市東鷹栖一線3-11")[2:] == ("東鷹栖一線", "3-11")


def test_undecided():
    r = normalize("東京都新宿区西新宿二丁目 以下未定")
    assert (r.town, r.rest, r.level) == ("西新宿二丁目", "", 3)
    assert "番地以下が未定です" in r.warnings


def test_building_split():
    r = normalize("大阪府大阪市北区梅田一丁目1番3号 大阪駅前第3ビル 12F")
    assert (r.rest, r.building) == ("1-3", "大阪駅前第3ビル 12F")
    r = normalize("東京都新宿区西新宿2-8-1コーポ山田203号室")
    assert (r.rest, r.building) == ("8-1", "コーポ山田203号室")


def test_levels():
    assert normalize("東京都").level == 1
    assert normalize("東京都新宿区").level == 2
    r = normalize("東京都府中市存在しない町")
    assert (r.level, r.lat) == (2, None)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("", "空"),
        ("   ", "空"),
        ("hello world", "住所"),
        ("あ" * 1001, "1000"),
    ],
)
def test_bad_input_level_zero_with_reason(line, fragment):
    r = normalize(line)
    assert r.level == 0
    assert r.error and fragment in r.error


def test_control_characters_removed_with_warning():
    r = normalize("東京都新宿区\x00西新宿2-8-1\x1b")
    assert (r.pref, r.city, r.town, r.rest) == SHINJUKU
    assert "制御文字を取り除きました" in r.warnings


def test_not_a_string():
    r = normalize(None)  # type: ignore[arg-type]
    assert r.level == 0 and r.error


def test_postal_code_checks():
    ok = normalize("東京都新宿区西新宿2-8-1", "163-8001")
    assert (ok.postal_code, ok.postal_match) == ("1638001", True)
    ok = normalize("東京都新宿区西新宿2-8-1", "1600023")
    assert ok.postal_match is True
    wrong = normalize("東京都新宿区西新宿2-8-1", "0600042")
    assert wrong.postal_match is False
    assert any("一致しません" in w for w in wrong.warnings)
    missing = normalize("東京都新宿区西新宿2-8-1", "0000000")
    assert missing.postal_match is False
    assert any("存在しません" in w for w in missing.warnings)
    malformed = normalize("東京都新宿区西新宿2-8-1", "12-34")
    assert malformed.postal_match is False and malformed.level == 3
    # A leading 〒 in the line is used as the code.
    inline = normalize("〒160-0022 東京都新宿区新宿3-1-1")
    assert (inline.town, inline.postal_code, inline.postal_match) == ("新宿三丁目", "1600022", True)


def test_thread_safe_same_results():
    lines = [
        "東京都新宿区西新宿2-8-1",
        "大阪府大阪市北区梅田1-1-3",
        "京都市中京区寺町通御池上る上本能寺前町488",
    ]
    expected = [normalize(line) for line in lines]
    errors: list[str] = []

    def work():
        for _ in range(50):
            for line, exp in zip(lines, expected, strict=True):
                if normalize(line) != exp:
                    errors.append(line)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize(
    ("line", "rest", "building"),
    [
        # from Geolonia's public test list
        ("京都府京都市上京区大猪熊町寺之内通大宮西入以下未定", "寺之内通大宮西入", ""),
        ("東京都渋谷区恵比寿西１丁目２１－１５・１４", "21-15・14", ""),
        ("神奈川県川崎市宮前区鷺沼４丁目５－３０－Ａ", "5-30-A", ""),
        ("東京都北区西ケ原１丁目５８（以下未定）", "58", ""),
        ("東京都千代田区麹町３丁目２－１３（地番）", "2-13", "(地番)"),
    ],
)
def test_rest_and_building_edge_cases(line, rest, building):
    r = normalize(line)
    assert (r.rest, r.building) == (rest, building)


def test_ward_of_designated_city_left_out():
    r = normalize("横浜市日吉本町1-2-3")
    assert (r.pref, r.city, r.town, r.rest) == ("神奈川県", "横浜市港北区", "日吉本町一丁目", "2-3")
    assert any("区が省略" in w for w in r.warnings)
    assert normalize("大阪府大阪市梅田1-1-3").city == "大阪市北区"
    vague = normalize("神奈川県横浜市")
    assert vague.level == 1 and len(vague.candidates) == 18


def test_unknown_town_stays_in_rest():
    r = normalize("東京都府中市存在しない町")
    assert (r.level, r.rest, r.building) == (2, "存在しない町", "")

"""The forbidden-data guard (特記事項 5): free text is checked before it is kept."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError

from genchi.audit.models import AuditEntry
from genchi.fieldwork.forbidden import (
    CATEGORIES,
    DATA_FILE,
    WordListError,
    check_text,
    load_word_list,
    normalised,
    parse_word_list,
    record_refusal,
    validate_free_text,
)

# --- one test per category, several phrasings each -------------------------------------

REFUSED = {
    "creed": [
        "世帯主は熱心な宗教の信者とのこと",
        "隣人によると創価学会員",
        "毎週日曜に教会に通っているらしい",
        "エホバの証人の勧誘をしている",
        "共産党の支持者と本人談",
        "政治思想の話を長々とされた",
        "ｼｭｳｷｮｳの話",
    ],
    "origin": [
        "本人は沖縄出身と話していた",
        "在日韓国人の家族が住んでいる",
        "国籍は不明",
        "外国人が応対",
        "同和地区の出とのこと",
        "帰化したと聞いた",
    ],
    "family_register": [
        "戸籍上は別人",
        "本籍は九州",
        "妻と離婚して転出",
        "内縁の妻と同居",
        "連れ子がいる",
        "元夫が時々来る",
        "りこん調停中",
    ],
    "disability": [
        "本人は障害者手帳を持っている",
        "息子に知的障がいがある",
        "車椅子の方が応対",
        "足が不自由な様子",
        "耳が聞こえないらしく筆談",
        "ｼｮｳｶﾞｲがあるとのこと",
    ],
    "criminal": [
        "本人は前科があると近所の噂",
        "昨年逮捕されたらしい",
        "刑務所に服役中とのこと",
        "暴力団関係者の出入りあり",
        "警察に捕まったと隣人談",
        "執行猶予中",
        "ﾀｲﾎされた",
    ],
    "health": [
        "本人は入院中",
        "がんで闘病中とのこと",
        "認知症の母親と同居",
        "ｼﾞｻﾂ未遂があったらしい",
        "自 殺",
        "精神的に不安定な様子",
        "病院に通っているとのこと",
        "体調が悪いと言って出てこない",
        "うつ病で休職中",
        "妊娠中の妻",
    ],
    "private": [
        "生活保護を受けているらしい",
        "DVの被害で避難中",
        "同性愛のカップル",
        "子への虐待の通報歴",
    ],
}


@pytest.mark.parametrize("code", list(REFUSED))
def test_each_category_refuses_its_phrasings(code):
    assert code in CATEGORIES
    for text in REFUSED[code]:
        result = check_text(text)
        assert not result.allowed, text
        assert code in result.codes, (text, result.codes)
        assert result.words and all(w in text for w in result.words), (text, result.words)


def test_words_are_the_surveyors_own_spans_after_normalisation():
    assert check_text("ｼﾞｻﾂ未遂").words == ("ｼﾞｻﾂ",)
    assert check_text("自　殺を図った").words == ("自　殺",)
    assert check_text("ＨＩＶ陽性").words == ("ＨＩＶ",)
    assert check_text("ニュウイン中").words == ("ニュウイン",)
    assert normalised("ｼﾞｻﾂ") == normalised("ジサツ") == normalised("じ さ つ") == "じさつ"


def test_a_text_with_two_categories_names_both_in_order():
    result = check_text("宗教の話のあと、入院していると言った")
    assert result.codes == ["creed", "health"]
    assert result.words == ("宗教", "入院")


# --- ordinary survey wording passes ----------------------------------------------------

NEUTRAL = [
    "表札なし。郵便受けにチラシが溜まっている。",
    "電気メーター回転あり。",
    "ガスメーター停止。",
    "病院の看板の隣の建物",
    "宗教法人の建物の向かい",
    "管理会社に電話で確認",
    "寺の隣のアパート、2階角部屋",
    "〇〇病院前バス停から徒歩3分",
    "さくら総合病院の駐車場の裏",
    "精神科病院の隣のマンション",
    "障害者福祉センターの向かいの戸建て",
    "○○刑務所前の交差点を右折",
    "教会の隣、青い屋根の家",
    "神社の並びの古い木造アパート",
    "警察署の向かいのビル3階",
    "宗教法人所有の建物の隣の家",
    "通路に障害物あり、奥まで入れず",
    "電波障害のためスマートフォンの地図が表示されない",
    "防犯カメラあり。オートロックで入れず",
    "特殊詐欺に注意の貼り紙がエントランスにある",
    "感染症予防のポスターが掲示板にある",
    "現在日中は不在の模様",
    "洗濯物が干してある。生活実態あり",
    "隣人によると半年前に転出した",
    "不動産会社の看板あり、空室",
    "ポストに郵便物が溢れている",
    "自転車2台、ベビーカーあり",
    "夜間再訪予定。窓に明かりあり",
    "管理人によると契約者は別の名前",
    "表札は旧姓のまま",
    "インターホン応答なし、不在票を投函",
    "家族が応対、本人は仕事で不在",
    "建物取り壊し済み、更地",
    "地元夫婦が経営する商店の2階",
    "駅前夫婦で営む喫茶店の隣",
    "頑張って働いているとのこと",
    "全体が悪天候で見通し悪い",
    "タクシーがつかまらず徒歩で移動",
    "DVDレンタル店の隣",
    "ハーフサイズの郵便受け",
    "オウムの鳴き声が聞こえる",
    "連絡票を投函。電話連絡を依頼",
    "郵便受けに名前のシール、氏名一致",
]


def test_ordinary_survey_notes_pass():
    assert len(NEUTRAL) >= 30
    refused = {t: check_text(t).to_dict() for t in NEUTRAL if not check_text(t).allowed}
    assert refused == {}


def test_a_landmark_does_not_excuse_a_hit_before_a_particle():
    assert check_text("入院中の病院の隣").words == ("入院",)
    assert check_text("母入院中病院前で待つ").words == ("入院",)
    assert check_text("元受刑者の施設の隣").words == ("受刑",)
    assert not check_text("創価学会の会館の隣").allowed


# --- the data file ---------------------------------------------------------------------


def test_every_listed_word_is_caught_on_its_own():
    """A word the list names but the guard lets through would be a silent gap: every
    word refuses alone, unless one of its own exceptions is the whole word."""
    import tomllib

    data = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    for code, section in data["categories"].items():
        for word in section["words"]:
            result = check_text(word)
            assert code in result.codes, (code, word)


def test_a_malformed_word_list_is_refused_with_a_clear_message():
    with pytest.raises(WordListError, match="未知の区分"):
        parse_word_list({"categories": {"politics": {"words": ["x"]}}})
    with pytest.raises(WordListError, match="正規表現"):
        parse_word_list({"categories": {"creed": {"patterns": ["(unclosed"]}}})
    with pytest.raises(WordListError, match="文字列のリスト"):
        parse_word_list({"categories": {"creed": {"words": "宗教"}}})
    assert load_word_list().rules  # the shipped file loads


# --- the command -----------------------------------------------------------------------


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "genchi", "visits", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_check_text_command_prints_json_and_exits_0_either_way():
    proc = run_cli("check-text", stdin="本人は入院中。宗教の勧誘あり\n".encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == {
        "allowed": False,
        "categories": ["creed", "health"],
        "words": ["入院", "宗教"],
    }
    proc = run_cli("check-text", stdin="\ufeff病院の看板の隣の建物\r\n".encode())
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"allowed": True, "categories": [], "words": []}
    proc = run_cli("check-text")
    assert proc.returncode == 0 and json.loads(proc.stdout)["allowed"] is True


def test_check_text_command_usage_errors_exit_2_in_japanese():
    for args, stdin, message in (
        ((), b"", "次の引数が必要です"),
        (("nope",), b"", "選べません"),
        (("check-text",), b"\xff\xfe\x00", "UTF-8"),
    ):
        proc = run_cli(*args, stdin=stdin)
        err = proc.stderr.decode()
        assert proc.returncode == 2, (args, err)
        assert message in err and "Traceback" not in err


# --- refusing and logging --------------------------------------------------------------


@pytest.mark.django_db
def test_the_refusal_is_logged_with_field_and_categories_never_the_text(contract):
    text = "本人は前科ありと隣人談、現在入院中"
    with pytest.raises(ValidationError) as exc:
        validate_free_text("notes", text, contract=contract)
    message = " ".join(exc.value.messages)
    assert "「前科」は犯罪に関する記載のため記録できません。" in message
    assert "「入院」は健康・病歴に関する記載のため記録できません。" in message
    assert message.endswith("言い換えてください。")
    entry = AuditEntry.objects.get(action="forbidden_text.refused")
    assert entry.detail == {"field": "notes", "categories": ["criminal", "health"]}
    assert entry.contract_code == contract.code
    stored = json.dumps(entry.detail, ensure_ascii=False) + entry.object_id
    for piece in ("前科", "入院", "隣人", text):
        assert piece not in stored


@pytest.mark.django_db
def test_allowed_text_is_not_logged_and_record_refusal_takes_no_text():
    validate_free_text("notes", "電気メーター回転あり。")
    assert not AuditEntry.objects.filter(action="forbidden_text.refused").exists()
    record_refusal("interview", check_text("宗教の話"), form="VisitForm")
    entry = AuditEntry.objects.get(action="forbidden_text.refused")
    assert entry.detail == {"field": "interview", "categories": ["creed"], "form": "VisitForm"}


def test_the_message_is_translated(settings):
    from django.utils import translation

    with translation.override("en"):
        message = check_text("宗教").message()
    assert "宗教" in message and "Please rephrase" in message


def test_a_long_text_full_of_hits_is_checked_in_linear_time():
    """The command reads up to 1 MB: many hits and many landmarks stay fast (a quadratic
    de-duplication took minutes on this)."""
    import time

    started = time.monotonic()
    result = check_text("入院" * 20000 + "病院の看板の隣" * 5000)
    assert len(result.hits) == 20000 and result.words == ("入院",)
    assert time.monotonic() - started < 10

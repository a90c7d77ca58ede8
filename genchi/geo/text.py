"""Character-level normalisation shared by the gazetteer index and the normaliser.

Three layers, applied in order to both the gazetteer names and the input line so that
the two always meet in the same form:

1. `prepare`: NFKC (full-width digits and Latin to half width, half-width katakana to
   full width), control characters out, spaces collapsed.  The result is what `rest`
   and `building` are cut from.
2. `fold`: a length-preserving one-character-to-one mapping of spelling variants
   (ケ/ヶ/が, ノ/の/之, old and variant kanji, hyphen look-alikes …).  Length-preserving
   so that a position in the folded text is the same position in the prepared text.
3. `canon`: numbers followed by a town-number suffix (丁目, 丁, 番町, 条, 線, 地割, 号,
   の, "-" …) become one private-use marker character holding the number, so 一丁目,
   1丁目, １丁目, 1- and 一の all compare equal; spaces are dropped.  It also
   returns what is needed to map a canonical position back to the prepared text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "壱": 1,
    "二": 2,
    "弐": 2,
    "三": 3,
    "参": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
KANJI_NUMERAL_CHARS = "".join(KANJI_DIGITS) + "".join(KANJI_UNITS)

# Marker characters for numbers: U+E000 + n, inside the private-use area.
MARKER_BASE = 0xE000
MARKER_LIMIT = 6400

# Hyphen look-alikes people type between numbers (and the long-vowel mark, which
# Japanese IMEs produce when the hyphen key is pressed in kana mode).
HYPHENS = "-－﹣−‐⁃‑‒–—﹘―⎯⏤ーｰ─━"

# Old / variant kanji → the form used in the gazetteer (JIS level 2 → level 1 and
# 旧字体 → 新字体, as Geolonia's normaliser does, plus common IBM-extension variants).
_OLD_KANJI = (
    "亞圍壹榮驛應櫻假會懷覺樂陷歡氣戲據挾區徑溪輕藝儉圈權嚴恆國齋雜蠶殘兒實釋從縱敍燒條"
    "剩壤釀眞盡醉髓聲竊淺錢禪爭插騷屬對滯擇單斷癡鑄敕鐵傳黨鬪屆腦廢發蠻拂邊瓣寶沒滿藥餘"
    "樣亂兩禮靈爐灣惡醫飮營圓歐奧價繪擴學罐勸觀歸犧擧狹驅莖經繼缺劍檢顯廣鑛碎劑參慘絲辭"
    "舍壽澁肅將證乘疊孃觸寢圖穗樞齊攝戰潛雙莊裝藏續體臺澤膽彈蟲廳鎭點燈盜獨貳霸賣髮祕佛"
    "變辯豐飜默與譽謠覽獵勵齡勞壓爲隱衞鹽毆穩畫壞殼嶽卷關顏僞舊峽曉勳惠螢鷄縣險獻驗效號"
    "濟册棧贊齒濕寫收獸處稱奬淨繩讓囑愼粹隨數靜專踐纖壯搜總臟墮帶瀧擔團遲晝聽遞轉當稻讀"
    "惱拜麥拔濱竝辨舖襃萬譯豫搖來龍壘隸戀樓鰺鶯蠣攪竈灌諫頸礦蘂靱賤壺礪檮濤邇蠅檜儘藪籠"
    "彌麩"
)
_NEW_KANJI = (
    "亜囲壱栄駅応桜仮会懐覚楽陥歓気戯拠挟区径渓軽芸倹圏権厳恒国斎雑蚕残児実釈従縦叙焼条"
    "剰壌醸真尽酔髄声窃浅銭禅争挿騒属対滞択単断痴鋳勅鉄伝党闘届脳廃発蛮払辺弁宝没満薬余"
    "様乱両礼霊炉湾悪医飲営円欧奥価絵拡学缶勧観帰犠挙狭駆茎経継欠剣検顕広鉱砕剤参惨糸辞"
    "舎寿渋粛将証乗畳嬢触寝図穂枢斉摂戦潜双荘装蔵続体台沢胆弾虫庁鎮点灯盗独弐覇売髪秘仏"
    "変弁豊翻黙与誉謡覧猟励齢労圧為隠衛塩殴穏画壊殻岳巻関顔偽旧峡暁勲恵蛍鶏県険献験効号"
    "済冊桟賛歯湿写収獣処称奨浄縄譲嘱慎粋随数静専践繊壮捜総臓堕帯滝担団遅昼聴逓転当稲読"
    "悩拝麦抜浜並弁舗褒万訳予揺来竜塁隷恋楼鯵鴬蛎撹竃潅諌頚砿蕊靭賎壷砺梼涛迩蝿桧侭薮篭"
    "弥麸"
)
_EXTRA_VARIANTS = {
    "髙": "高",
    "﨑": "崎",
    "嵜": "崎",
    "邉": "辺",
    "德": "徳",
    "濵": "浜",
    "槗": "橋",
    "桒": "桑",
    "冨": "富",
    "嶋": "島",
    "嶌": "島",
    "舘": "館",
    "瀨": "瀬",
    "峯": "峰",
    "埜": "野",
    "塚": "塚",
    "﨔": "欅",
    "靏": "鶴",
    "鷆": "鶴",
    "栁": "柳",
    "昻": "昂",
    "羽": "羽",
    "隆": "隆",
}
# Same-sound or same-shape characters that addresses use interchangeably; each group
# folds to its first character.  Mirrors the character classes Geolonia's matcher uses.
_GROUPS = (
    "ケヶが",
    "カヵか力",
    "の之ノ",
    "ツッっつ",
    "二ニ",
    "八ハ",
    "釜竈竃",
    "条條",
    "狛拍",
    "薮藪",
    "渕淵",
    "エヱえ",
    "曽曾",
    "舟船",
    "莵菟",
    "市巿",
    "-" + HYPHENS,
)


def _build_fold_table() -> dict[int, int]:
    table: dict[int, int] = {}
    if len(_OLD_KANJI) != len(_NEW_KANJI):  # pragma: no cover - guards the literals above
        raise AssertionError("old/new kanji tables differ in length")
    for old, new in zip(_OLD_KANJI, _NEW_KANJI, strict=True):
        table[ord(old)] = ord(new)
    for old, new in _EXTRA_VARIANTS.items():
        table[ord(old)] = ord(new)
    for group in _GROUPS:
        head = group[0]
        # A member may itself be an old kanji (藪, 竈): resolve through the table once.
        head = chr(table.get(ord(head), ord(head)))
        for ch in group:
            table[ord(ch)] = ord(head)
    # Resolve chains (e.g. 藪→薮 and 薮 as group head) so folding is idempotent.
    for key, value in list(table.items()):
        seen = 0
        while value in table and table[value] != value and seen < 4:
            value = table[value]
            seen += 1
        table[key] = value
    return table


FOLD_TABLE = _build_fold_table()

# Multi-character spellings that are equivalent; the gazetteer side expands each key
# into every alternative (already folded), so the input side needs no extra work.
MULTI_VARIANTS: tuple[tuple[str, ...], ...] = (
    ("通り", "とおり"),
    ("埠頭", "ふ頭"),
    ("番町", "番丁"),
    ("大冝", "大宜"),
    ("穝", "さい"),
    ("杁", "えぶり"),
    ("薭", "稗", "ひえ", "ヒエ"),
    ("鬮野川", "くじ野川", "くじの川"),
    ("柿碕町", "柿さき町"),
    ("四谷三栄町", "三栄町"),
)

_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\uf8ff\ufeff\u200b-\u200f]")
_SPACES_RE = re.compile(r"\s+")
_HYPHEN_CLASS = re.escape(HYPHENS)
_NUM_CLASS = "0-9" + KANJI_NUMERAL_CHARS
# A hyphen look-alike next to a number is a hyphen (ー in センター is not).
_HYPHEN_NEAR_NUMBER_RE = re.compile(
    f"(?<=[{_NUM_CLASS}])[{_HYPHEN_CLASS}]|[{_HYPHEN_CLASS}](?=[{_NUM_CLASS}])"
)

# Town-number suffixes, longest first so that 丁目 wins over 丁 and の町 over の.
_SUFFIXES = (
    "丁目",
    "町目",
    "番町",
    "番丁",
    "の町",
    "地割",
    "丁",
    "町",
    "条",
    "軒",
    "線",
    "の",
    "号",
    "-",
)
TOKEN_RE = re.compile(
    "(?:([0-9]+|[" + KANJI_NUMERAL_CHARS + "]+)(?:" + "|".join(_SUFFIXES) + "))|\\s+"
)


def kan2num(text: str) -> int | None:
    """Value of a kanji numeral: 二十三 → 23, 一〇五 → 105 (digit by digit), 壱 → 1."""
    if not text:
        return None
    if not any(ch in KANJI_UNITS for ch in text):
        value = 0
        for ch in text:
            digit = KANJI_DIGITS.get(ch)
            if digit is None:
                return None
            value = value * 10 + digit
        return value
    total = 0
    current = 0
    for ch in text:
        if ch in KANJI_DIGITS:
            current = current * 10 + KANJI_DIGITS[ch]
        elif ch in KANJI_UNITS:
            total += (current or 1) * KANJI_UNITS[ch]
            current = 0
        else:
            return None
    return total + current


def to_int(text: str) -> int | None:
    """Arabic or kanji numeral to int."""
    if text.isdigit():
        return int(text)
    return kan2num(text)


def num2kanji(value: int) -> str:
    """23 → 二十三 (for 丁目 names)."""
    if value == 0:
        return "〇"
    digits = "〇一二三四五六七八九"
    out = []
    for unit, ch in ((1000, "千"), (100, "百"), (10, "十")):
        q, value = divmod(value, unit)
        if q:
            out.append(("" if q == 1 else digits[q]) + ch)
    if value:
        out.append(digits[value])
    return "".join(out)


def strip_controls(text: str) -> tuple[str, bool]:
    """Remove control and private-use characters; tab becomes a space."""
    text = text.replace("\t", " ")
    cleaned = _CONTROL_RE.sub("", text)
    return cleaned, cleaned != text


def prepare(text: str) -> str:
    """NFKC, hyphens next to numbers to "-", spaces collapsed and trimmed."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _SPACES_RE.sub(" ", text).strip()
    return _HYPHEN_NEAR_NUMBER_RE.sub("-", text)


def fold(text: str) -> str:
    """Fold spelling variants; same length as the input."""
    return text.translate(FOLD_TABLE)


# Suffix classes kept beside each marker so that 一線 does not match 一条 and 三番町 not
# 三町; 0 (the hyphen, の) is compatible with every class.
SUFFIX_CLASS = {
    "丁目": 1,
    "丁": 1,
    "町目": 1,
    "町": 2,
    "番町": 3,
    "番丁": 3,
    "条": 4,
    "線": 5,
    "軒": 6,
    "地割": 7,
    "号": 8,
    "の町": 0,
    "の": 0,
    "-": 0,
}


def canon(folded: str) -> tuple[str, list[int], list[int], list[tuple[int, int]]]:
    """Canonical matching string of folded text, with its position map.

    Returns (canonical, c_marks, f_marks, markers): after each replaced or dropped
    span, the canonical length so far and the folded position where the span ended
    (use `to_folded_pos` to map a canonical position back); and for each number
    marker its canonical position and suffix class.
    """
    parts: list[str] = []
    c_marks: list[int] = []
    f_marks: list[int] = []
    markers: list[tuple[int, int]] = []
    last = 0
    clen = 0
    for m in TOKEN_RE.finditer(folded):
        start, end = m.span()
        number = m.group(1)
        if number is not None:
            value = int(number) if number[0] <= "9" else kan2num(number)
            if value is None or value >= MARKER_LIMIT:
                continue  # leave the text as it is
            if start > last:
                parts.append(folded[last:start])
                clen += start - last
            markers.append((clen, SUFFIX_CLASS[folded[start + len(number) : end]]))
            parts.append(chr(MARKER_BASE + value))
            clen += 1
        elif start > last:
            parts.append(folded[last:start])
            clen += start - last
        last = end
        c_marks.append(clen)
        f_marks.append(end)
    if not c_marks:
        return folded, c_marks, f_marks, markers
    parts.append(folded[last:])
    return "".join(parts), c_marks, f_marks, markers


def marker_classes(text: str) -> tuple[int, ...]:
    """Suffix classes of the number markers of a name, in order."""
    return tuple(cls for _pos, cls in canon(fold(prepare(text)))[3])


def compatible(name_classes: tuple[int, ...], typed: list[int]) -> bool:
    """Suffix classes agree, 0 (hyphen, の) agreeing with anything."""
    return all(a == b or not a or not b for a, b in zip(name_classes, typed, strict=False))


def to_folded_pos(cpos: int, c_marks: list[int], f_marks: list[int]) -> int:
    """Map a position in the canonical string to the folded (= prepared) string."""
    i = bisect_right(c_marks, cpos) - 1
    if i < 0:
        return cpos
    return f_marks[i] + (cpos - c_marks[i])


def key(text: str) -> str:
    """Canonical key of a gazetteer name (or any text compared as a whole)."""
    return canon(fold(prepare(text)))[0]


def is_marker(ch: str) -> bool:
    return MARKER_BASE <= ord(ch) < MARKER_BASE + MARKER_LIMIT


_AZA_RE = re.compile("大字|字")


def town_keys(name: str) -> list[str]:
    """Keys of a town name: 大字/字 optional wherever the name has it, plus spellings."""
    k = key(name)
    if k.startswith("大字"):
        k = k[2:]
    elif k.startswith("字"):
        k = k[1:]
    out = [k]
    if "字" in k:
        # Each inner 字 may be typed as 字, 大字 or left out (芝字宮根 / 芝宮根).
        parts = _AZA_RE.split(k)
        out = [parts[0]]
        for part in parts[1:]:
            out = [o + sep + part for o in out for sep in ("字", "", "大字")]
    keys: list[str] = []
    for k in out:
        for v in variant_keys(k):
            if v not in keys:
                keys.append(v)
    return keys


_FOLDED_VARIANTS: list[list[str]] = []
_VARIANT_CHARS: frozenset[str] = frozenset()


def variant_keys(k: str) -> list[str]:
    """A canonical key and its multi-character spelling alternatives."""
    global _VARIANT_CHARS
    if not _FOLDED_VARIANTS:
        _FOLDED_VARIANTS.extend([key(g) for g in group] for group in MULTI_VARIANTS)
        _VARIANT_CHARS = frozenset(k[0] for group in _FOLDED_VARIANTS for k in group)
    out = [k]
    if _VARIANT_CHARS.isdisjoint(k):
        return out
    for folded_group in _FOLDED_VARIANTS:
        for current in list(out):
            for member in folded_group:
                if member and member in current:
                    for alt in folded_group:
                        if alt != member:
                            candidate = current.replace(member, alt)
                            if candidate not in out:
                                out.append(candidate)
                    break
    return out

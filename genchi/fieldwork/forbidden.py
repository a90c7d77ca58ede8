"""The forbidden-data guard (S5): free text is checked before it is kept.

特記事項 5 forbids collecting, without the ward's consent, anything about thought, creed
or religion, facts that cause social discrimination, criminal matters, and other matters
the ward deems private. A surveyor's free text (notes, interview) goes through
`check_text` first; a refusal names the words and why, the surveyor rephrases, and the
attempt is logged without the text (`record_refusal`).

The word list is data (`data/forbidden_words.toml`, docs/forbidden-data.md); this module
knows the categories (code, label, reason) and how to match:

- The text is normalised (NFKC, katakana to hiragana, lower case, spaces and 「・」 etc.
  removed) with a map back to the original characters, so 「ｼﾞｻﾂ」「自 殺」 are caught and
  the words reported are the surveyor's own spans.
- A hit lying wholly inside an exception of its category (「障害物」) or a landmark, a
  listed facility followed by a position (「宗教法人の建物」「精神科病院の隣」「刑務所前」),
  is excused. Only the facility itself excuses: in 「入院中の病院の隣」 or
  「母入院中病院前」 the 「入院」 stays refused.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

DATA_FILE = Path(__file__).resolve().parent / "data" / "forbidden_words.toml"

# Characters dropped before matching: spacing and separators used to split a word.
_DROPPED = frozenset(" \t\r\n\u3000\u00a0・*_\u200b\u200c\u200d\u2060\ufeff\u00ad")
_KATA_START, _KATA_END = 0x30A1, 0x30F6  # ァ … ヶ


@dataclass(frozen=True)
class Category:
    code: str
    label: Promise  # Japanese msgid, shown in the reader's language
    why: Promise  # one line: why it may not be recorded


# The categories of 特記事項 5, in the order shown. A code used in the data file must be here.
CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category(
            "creed",
            _("思想・信条・宗教"),
            _("思想、信条及び宗教に関する事項は収集が禁止されています。"),
        ),
        Category(
            "origin",
            _("出身・門地・国籍"),
            _("出身や国籍など社会的差別の原因となる事実は収集が禁止されています。"),
        ),
        Category(
            "family_register",
            _("戸籍・身分関係"),
            _("戸籍や婚姻・親子関係は社会的差別の原因となる事実として収集が禁止されています。"),
        ),
        Category(
            "disability",
            _("障害"),
            _("障害に関する事実は社会的差別の原因となる事実として収集が禁止されています。"),
        ),
        Category(
            "criminal",
            _("犯罪"),
            _("犯罪に関する事項は収集が禁止されています。"),
        ),
        Category(
            "health",
            _("健康・病歴"),
            _("健康状態や病歴は区民の個人的秘密として収集が禁止されています。"),
        ),
        Category(
            "private",
            _("個人的秘密"),
            _("区が個人的秘密と認めた事項は収集が禁止されています。"),
        ),
    )
}


class WordListError(ValueError):
    """The data file is malformed (unknown category, bad pattern, missing key)."""


# --- normalisation ---------------------------------------------------------------------


def _kana(text: str) -> str:
    return "".join(
        chr(ord(ch) - 0x60) if _KATA_START <= ord(ch) <= _KATA_END else ch for ch in text
    )


def normalise(text: str) -> tuple[str, list[int]]:
    """(normalised text, for each of its characters the index of the original one)."""
    out: list[str] = []
    where: list[int] = []
    for index, ch in enumerate(text):
        if ch in _DROPPED:
            continue
        for piece in _kana(unicodedata.normalize("NFKC", ch)).lower():
            if piece in _DROPPED or unicodedata.category(piece) in ("Cf", "Mn", "Zs"):
                if piece in ("\u3099", "\u309a"):  # a voicing mark NFKC left alone
                    _voice(out, piece)
                continue
            out.append(piece)
            where.append(index)
    return "".join(out), where


def _voice(out: list[str], mark: str) -> None:
    if out:
        composed = unicodedata.normalize("NFC", out[-1] + mark)
        if len(composed) == 1:
            out[-1] = composed


def normalised(text: str) -> str:
    return normalise(text)[0]


# --- the word list ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    code: str
    match: re.Pattern[str] | None
    excuse: re.Pattern[str] | None


@dataclass(frozen=True)
class WordList:
    rules: tuple[_Rules, ...]
    landmark: re.Pattern[str] | None
    source: str = ""


def _alternation(words: list[str], patterns: list[str], where: str) -> re.Pattern[str] | None:
    parts = [
        re.escape(w) for w in sorted({normalised(w) for w in words if w.strip()}, key=len)[::-1]
    ]
    for pattern in patterns:
        try:
            re.compile(_kana(pattern))
        except re.error as exc:
            raise WordListError(f"{where}: 正規表現「{pattern}」が正しくありません({exc})") from exc
        parts.append(f"(?:{_kana(pattern)})")
    return re.compile("|".join(parts)) if parts else None


def _strings(section: dict, key: str, where: str) -> list[str]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WordListError(f"{where}.{key} は文字列のリストにしてください")
    return value


def parse_word_list(data: dict[str, Any], source: str = "") -> WordList:
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise WordListError("[categories.…] がありません")
    rules = []
    for code, section in categories.items():
        where = f"categories.{code}"
        if code not in CATEGORIES:
            raise WordListError(f"{where}: 未知の区分です({', '.join(CATEGORIES)} のいずれか)")
        if not isinstance(section, dict):
            raise WordListError(f"{where} は表にしてください")
        rules.append(
            _Rules(
                code,
                _alternation(
                    _strings(section, "words", where), _strings(section, "patterns", where), where
                ),
                _alternation(
                    _strings(section, "exceptions", where),
                    _strings(section, "exception_patterns", where),
                    where,
                ),
            )
        )
    order = list(CATEGORIES)
    rules.sort(key=lambda r: order.index(r.code))
    landmarks = data.get("landmarks", {})
    facilities = _strings(landmarks, "facilities", "landmarks")
    positions = _strings(landmarks, "positions", "landmarks")
    landmark = None
    if facilities and positions:
        fac = "|".join(re.escape(normalised(f)) for f in sorted(facilities, key=len, reverse=True))
        pos = "|".join(re.escape(normalised(p)) for p in sorted(positions, key=len, reverse=True))
        landmark = re.compile(f"(?:{fac})(?:所有|管理)?の?(?:{pos})")
    return WordList(tuple(rules), landmark, source)


@lru_cache(maxsize=4)
def load_word_list(path: str | None = None) -> WordList:
    file = Path(path) if path else DATA_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WordListError(f"{file.name} を読めません: {exc}") from exc
    return parse_word_list(data, source=file.name)


# --- checking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    category: str
    word: str  # the span of the original text
    start: int
    end: int


@dataclass(frozen=True)
class GuardResult:
    allowed: bool
    categories: tuple[Category, ...] = ()
    words: tuple[str, ...] = ()
    hits: tuple[Hit, ...] = field(default=(), repr=False)

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.categories]

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "categories": self.codes, "words": list(self.words)}

    def words_of(self, code: str) -> list[str]:
        seen: list[str] = []
        for hit in self.hits:
            if hit.category == code and hit.word not in seen:
                seen.append(hit.word)
        return seen

    def message(self) -> str:
        """For the surveyor: which words, why, and to rephrase (in the reader's language)."""
        lines = []
        for category in self.categories:
            quoted = "".join(f"「{w}」" for w in self.words_of(category.code)[:10])
            lines.append(
                gettext("%(words)sは%(label)sに関する記載のため記録できません。")
                % {"words": quoted, "label": category.label}
            )
            lines.append(str(category.why))
        lines.append(gettext("言い換えてください。"))
        return "".join(lines)


def _spans(pattern: re.Pattern[str] | None, text: str) -> list[tuple[int, int]]:
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(text) if m.end() > m.start()]


class _Cover:
    """Whether a span lies wholly inside one of `spans`, asked with starts in increasing
    order: the furthest end among the spans starting at or before the start decides."""

    def __init__(self, spans: list[tuple[int, int]]):
        self.spans = sorted(spans)
        self.next = 0
        self.reach = -1

    def covers(self, start: int, end: int) -> bool:
        while self.next < len(self.spans) and self.spans[self.next][0] <= start:
            self.reach = max(self.reach, self.spans[self.next][1])
            self.next += 1
        return self.reach >= end


def _overlapping(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Every match, also those starting inside another (a landmark may begin anywhere)."""
    spans = []
    pos = 0
    while pos < len(text):
        m = pattern.search(text, pos)
        if m is None:
            break
        if m.end() > m.start():
            spans.append(m.span())
        pos = m.start() + 1
    return spans


def check_text(text: str, word_list: WordList | None = None) -> GuardResult:
    """Whether `text` may be kept; if not, the categories and the words that stopped it."""
    rules = word_list or load_word_list()
    norm, where = normalise(text or "")
    if not norm:
        return GuardResult(True)
    landmarks = _overlapping(rules.landmark, norm) if rules.landmark else []
    hits: list[Hit] = []
    for rule in rules.rules:
        if rule.match is None:
            continue
        excused = _Cover(_overlapping(rule.excuse, norm) if rule.excuse else [])
        at_landmark = _Cover(landmarks)
        covered_until = -1  # the same word again from a shorter alternative is one hit
        for start, end in _overlapping(rule.match, norm):
            if excused.covers(start, end) or at_landmark.covers(start, end):
                continue
            if start < covered_until:
                continue
            covered_until = end
            o_start, o_end = where[start], where[end - 1] + 1
            hits.append(Hit(rule.code, text[o_start:o_end], o_start, o_end))
    if not hits:
        return GuardResult(True)
    codes = [c for c in CATEGORIES if any(h.category == c for h in hits)]
    words: list[str] = []
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.word not in words:
            words.append(hit.word)
    return GuardResult(False, tuple(CATEGORIES[c] for c in codes), tuple(words), tuple(hits))


# --- refusing --------------------------------------------------------------------------


def record_refusal(
    field_name: str,
    result: GuardResult,
    *,
    obj: Any = None,
    contract: Any = None,
    form: str = "",
) -> None:
    """Log that text was refused: the field and the categories, never the text or words."""
    from genchi.audit.chain import record

    detail: dict[str, Any] = {"field": field_name, "categories": result.codes}
    if form:
        detail["form"] = form
    record("forbidden_text.refused", obj=obj, contract=contract, detail=detail)


def validate_free_text(
    field_name: str,
    text: str,
    *,
    obj: Any = None,
    contract: Any = None,
    form: str = "",
    log: bool = True,
) -> None:
    """Raise a Japanese ValidationError naming the words and the reasons; log the attempt."""
    result = check_text(text)
    if result.allowed:
        return
    if log:
        record_refusal(field_name, result, obj=obj, contract=contract, form=form)
    raise ValidationError(
        result.message(), code="forbidden_data", params={"categories": result.codes}
    )

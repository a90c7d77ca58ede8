"""Every refusal code and reason has its words, in Japanese and in English, and the values
a refusal carries end up in them."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from genchi.package_format.errors import REASONS, Refused, known_codes
from genchi.transfer.refusals import MESSAGES, REASON_MESSAGES, TRANSFER_CODES, refusal_message

JAPANESE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")

# What the format passes with each reason (errors.REASONS lists them).
SAMPLE_PARAMS: dict[str, dict] = {
    "work_factor": {"work": 23, "max_work": 22},
    "header_field_too_long": {"field": "scrypt work factor"},
    "unsafe_name": {"name": "../etc/passwd"},
    "link": {"name": "photos/x.jpg"},
    "special": {"name": "photos/dev"},
    "duplicate_name": {"name": "records.jsonl"},
    "manifest_field": {"field": "members.size"},
    "manifest_unknown_fields": {"names": "extra_field"},
    "format_version": {"version": 2},
    "cannot_open": {"file": "x.genchi.age"},
    "recipient_named": {"recipient": "OTHER9"},
    "contract_named": {"contract": "K2027-001"},
    "sender_named": {"sender": "OTHER9"},
    "package_named": {"package_id": "0b7f9a62-8f7e-4d43-9b39-2a0f1a3c5d11"},
    "member_missing": {"name": "records.csv"},
    "member_out_of_order": {"name": "records.csv"},
    "member_unlisted": {"name": "photos/extra.jpg"},
    "member_size": {"name": "records.csv"},
    "member_hash": {"name": "records.csv"},
    "member_count": {"name": "records.csv", "count": 2, "expected": 3},
    "not_object": {"line": 4},
    "key_not_string": {"record": 4},
    "case_fields": {"line": 4, "extra": "birth_date", "missing": ""},
    "field_invalid": {"record": 4, "field": "address"},
    "result_fields": {"line": 2, "extra": "interview", "missing": ""},
    "result_field_invalid": {"record": 2, "field": "outcome"},
    "empty_case_ref": {"line": 4},
    "no_case_ref": {"record": 4},
    "line_not_json": {"line": 4},
    "line_json_limit": {"line": 4},
    "changed_photo": {"name": "2.jpg"},
    "irregular_photo": {"name": "2.jpg"},
    "bad_photo_name": {"name": "photos/写真.jpg"},
    "space_needed": {"needed": 1_234_567_890, "free": 1_000_000},
    "card_version": {"version": 9},
}


def test_every_code_and_reason_has_its_message():
    assert set(MESSAGES) == set(known_codes())
    assert set(TRANSFER_CODES) <= set(known_codes())
    assert set(REASON_MESSAGES) == set(REASONS)
    for code, message in MESSAGES.items():
        assert "%(" not in str(message), code  # a code's message names nothing


@pytest.mark.parametrize("code", sorted(known_codes()))
def test_every_code_in_words(code):
    refusal = Refused(code)
    with translation.override("ja"):
        assert JAPANESE.search(refusal_message(refusal))
    with translation.override("en"):
        assert not JAPANESE.search(refusal_message(refusal)), code


@pytest.mark.parametrize("reason", sorted(REASONS))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_reason_in_words(reason, language):
    refusal = Refused(REASONS[reason], reason=reason, **SAMPLE_PARAMS.get(reason, {}))
    with translation.override(language):
        text = refusal_message(refusal)
    assert text and "%(" not in text and "%s" not in text
    assert bool(JAPANESE.search(text)) == (language == "ja") or reason == "bad_photo_name"
    for value in SAMPLE_PARAMS.get(reason, {}).values():
        if value and not isinstance(value, int):
            assert str(value) in text, (reason, text)


def test_values_are_shown_as_a_person_reads_them():
    with translation.override("ja"):
        full = refusal_message(
            Refused("no_space", reason="space_needed", **SAMPLE_PARAMS["space_needed"])
        )
        unsafe = refusal_message(Refused("path_traversal", reason="unsafe_name", name="x" * 300))
        fields = refusal_message(
            Refused("bad_record", reason="case_fields", line=4, extra="a", missing="")
        )
        written = refusal_message(Refused("bad_record", reason="no_case_ref", record=7))
        manifest = refusal_message(Refused("unknown_format", reason="manifest_not_canonical"))
        secret = refusal_message(Refused("bad_secret_keys", reason="secret_signing_key"))
    assert full == "出力先の空き容量が足りません (必要 1,235 MB、空き 1 MB)"
    assert unsafe == f"アーカイブ内に不正なパスがあります: '{'x' * 200}'"  # quoted and cut
    assert fields == (
        "records.jsonl の 4 行目: 案件レコードの項目が4項目(郵便番号・住所・方書・氏名)+案件番号と一致しません "
        "(余分: a / 不足: なし)。"
    )
    assert written == "7 件目のレコード: 結果レコードに案件番号 (case_ref) がありません"
    assert manifest == "マニフェストの内容が不正です (正規化された JSON ではありません)。"
    assert secret == "秘密鍵ファイルが不正です (署名鍵)。"


def test_a_message_given_when_raised_is_shown_as_it_is():
    refusal = Refused("not_allowed", "このバッチを書き出す権限がありません。")
    with translation.override("en"):
        assert refusal_message(refusal) == "このバッチを書き出す権限がありません。"

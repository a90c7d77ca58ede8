"""Refusals in words: every refusal code of the handover, as a Japanese message.

The package format (genchi.package_format) refuses with one exception, `Refused`, that
carries a stable code, the precise check (`reason`) and the values a message may name
(`params`), but no words. This module is where they become words, for the views, the
commands and the demo: `refusal_message(exc)` in the language active when it is called
(Japanese msgids, English catalogue).

The handover refuses its own steps (permissions, slips, organisation keys, what the apps
that own a package's contents refuse) with the same exception and the codes registered below, passing its message already
translated: `raise Refused("not_allowed", _("…"))`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from genchi.package_format import contract_card  # noqa: F401 - registers its card codes
from genchi.package_format.errors import REASONS, RECORD_PROBLEMS, Refused, register_codes

__all__ = [
    "MESSAGES",
    "NOT_AGE_FROM",
    "REASON_MESSAGES",
    "TRANSFER_CODES",
    "Refused",
    "refusal_message",
]

# The handover's own codes (code -> what it means), besides the format's.
TRANSFER_CODES: dict[str, str] = {
    "not_allowed": "the person's role or organisation may not do this",
    "not_designated": "the contractor person is not designated on the contract",
    "batch_not_sealed": "only a sealed batch can be exported (once)",
    "batch_empty": "the batch has no cases",
    "weak_passphrase": "the package passphrase is shorter than 12 characters",
    "no_out_dir": "the destination folder does not exist",
    "write_failed": "the package could not be written (stick full, removed, read-only…)",
    "no_handler": "no app handles packages of this kind here",
    "no_item": "the item to send (e.g. the batch) was not found",
    "not_interrupted": "only an interrupted handover job can be started again",
    "upload_gone": "the uploaded package of an interrupted import is gone",
    "bad_slip_code": "the scanned or typed slip code cannot be read",
    "bad_state": "the slip is not in a state that allows this",
    "no_receiver": "the receiver's name is missing",
    "bad_handed_at": "the handover time given is in the future or before the export",
    "handed_at_mismatch": "the handover time on the paper slip differs from the one recorded",
    "not_downloadable": "the package is not kept for download (any more): its handover "
    "was confirmed and the server's copy deleted, or it was written into a folder",
    "slip_mismatch": "the package id or digest entered differs from the slip",
    "no_file": "the package file does not exist",
    "no_key_pair": "the organisation has no key pair here",
    "duplicate_case": "a case reference appears twice, or was received before",
    "secret_unreadable": "the organisation's secret keys cannot be decrypted",
    "exists": "the organisation already has a key pair",
    "no_partner_card": "the partner's public key card is not registered",
    "unknown_org": "the card's organisation is not registered here",
    "own_card": "a card of one's own organisation cannot be registered as a partner's",
    "same_side": "the card is not of the other side (ward and contractor)",
    "fingerprint_differs": "the fingerprint read out does not match the card",
    "card_exists": "a card of this partner is registered already",
    "not_party": "the organisation is not a party of the contract",
    "recipient_key_exists": "this side of the contract has its recipient key already",
    "no_contract_card": "the other side's contract recipient card is not registered",
    "contract_erased": "the contract's recipient key was destroyed with its erasure, or no "
    "live key opens the package and keys of erased contracts exist here",
    # results at the ward (genchi.results.receiving): the reconciliation
    "results_unanswered": "a results package names no cases package of this ward it answers",
    "results_foreign": "a results package answers a cases package of another contract",
    "results_answered_already": "the cases package was answered by an earlier results package",
    "results_missing": "cases of the answered package have no result",
    "results_extra": "results for cases the answered package did not carry",
    "results_photo": "a photo named by a result is missing from the package or not an image",
    # the erasure certificate at the ward (genchi.erasure.package_handlers)
    "certificate_shape": "the certificate package does not hold exactly one readable certificate",
    "certificate_other_contract": "the certificate names another contract than its package",
    "certificate_already": "the contract's erasure certificate was verified already",
    "certificate_packages": "the certificate's received packages differ from those the ward sent",
    "certificate_results": "the certificate's returned results differ from those the ward received",
    "certificate_counts": "the certificate's counts differ from the ward's records",
    # an incident report from the other side (genchi.compliance.package_handlers)
    "incident_shape": "the incident package does not hold exactly one readable incident report",
    "incident_other_contract": "the incident report names another contract than its package",
    "incident_refs": "the incident report names cases that are not of the contract here",
    "incident_outdated": "the incident report is not newer than the version held",
    "incident_here": "the incident was recorded on this installation or by the receiving side",
}
register_codes(TRANSFER_CODES)

# code -> its message. Never needs params: a refusal naming something has a reason.
MESSAGES: dict[str, Promise] = {
    # the format: reading a package
    "unknown_format": _("Genchi の受け渡しパッケージとして読めない形式です。"),
    "wrong_key": _("このパッケージを開く鍵またはパスワードが違います。"),
    "tampered": _("パッケージが改ざんされているか、壊れています。"),
    "truncated": _(
        "パッケージのファイルが途中で切れています (コピーが完了していない可能性があります)。"
    ),
    "unsigned": _("マニフェストに署名がありません。"),
    "bad_signature": _("マニフェストの署名が、登録されている送り手の署名鍵と一致しません。"),
    "wrong_contract": _("このパッケージは別の契約のものです。"),
    "wrong_recipient": _("このパッケージは別の受け取り先あてのものです。"),
    "wrong_sender": _("このパッケージの送り手が想定と違います。"),
    "wrong_kind": _("パッケージの種類 (案件・結果・証明書) が想定と違います。"),
    "replayed": _("このパッケージは既に取り込まれています。"),
    "path_traversal": _("アーカイブ内に不正なパス (絶対パスや「..」) があります。"),
    "link_member": _("アーカイブ内にリンクがあります。リンクは受け付けません。"),
    "special_member": _("アーカイブ内に通常ファイル以外 (デバイス・ディレクトリ等) があります。"),
    "duplicate_member": _("アーカイブ内に同じ名前のファイルが重複しています。"),
    "unexpected_member": _("マニフェストに載っていないファイルがアーカイブ内にあります。"),
    "missing_member": _("マニフェストに載っているファイルがアーカイブ内にありません。"),
    "hash_mismatch": _("ファイルの内容がマニフェストのハッシュ値と一致しません。"),
    "count_mismatch": _("件数がマニフェストの件数と一致しません。"),
    "bad_record": _("レコードの形式が不正です。"),
    # the format: writing a package
    "photo_changed": _("写真が書き出し中に変更されました。"),
    "not_a_file": _("写真が通常のファイルではありません。"),
    "bad_member_name": _("写真の名前が不正です (英数字と . _ - と / のみ)。"),
    "no_space": _("出力先の空き容量が足りません。"),
    # the format: public key cards and secret key files
    "too_large": _("公開鍵カードが大きすぎます。ファイルを確認してください。"),
    "not_json": _("公開鍵カードとして読めません (JSON ではありません)。"),
    "wrong_format": _("Genchi の公開鍵カードではありません。"),
    "unsupported_version": _("対応していない版の公開鍵カードです。"),
    "bad_org_code": _("公開鍵カードの組織コードが不正です。"),
    "bad_org_name": _("公開鍵カードの組織名が不正です。"),
    "bad_created_at": _("公開鍵カードの作成日時が不正です。"),
    "bad_recipient": _("公開鍵カードの暗号化用公開鍵 (age1…) が不正です。"),
    "bad_signing_key": _("公開鍵カードの署名用公開鍵 (Ed25519) が不正です。"),
    "fingerprint_mismatch": _(
        "公開鍵カードの公開鍵とフィンガープリントが一致しません。"
        "カードが壊れているか改変されています。"
    ),
    "bad_secret_keys": _("秘密鍵ファイルが不正です。"),
    # the handover (raised with their own, more precise, message)
    "not_allowed": _("この操作をする権限がありません。"),
    "not_downloadable": _("このパッケージはダウンロードできません。"),
    "bad_handed_at": _("受け渡し日時が正しくありません。"),
    "handed_at_mismatch": _("受け渡し日時が記録と一致しません。"),
    "not_designated": _("この契約の取扱責任者・取扱者に指定されていません。"),
    "batch_not_sealed": _("封緘済みのバッチだけを書き出せます。"),
    "batch_empty": _("バッチに案件がありません。"),
    "weak_passphrase": _("パスワードは12文字以上にしてください。"),
    "no_out_dir": _("書き出し先のフォルダがありません。"),
    "write_failed": _("パッケージを書き出せませんでした。"),
    "no_handler": _("この種類のパッケージは扱えません。"),
    "no_item": _("書き出す対象が見つかりません。"),
    "not_interrupted": _("この処理はやり直せる状態ではありません。"),
    "upload_gone": _("受け付けたファイルはもう残っていません。もう一度取り込んでください。"),
    "bad_slip_code": _(
        "票のQRコードの内容、またはパッケージIDとダイジェストを空白で区切って入力してください。"
    ),
    "bad_state": _("受け渡し票の状態が、この操作に合いません。"),
    "no_receiver": _("受け取った人の氏名を入力してください。"),
    "slip_mismatch": _("入力されたパッケージIDまたはダイジェストが、この票の記録と一致しません。"),
    "no_file": _("ファイルがありません。"),
    "no_key_pair": _("この Genchi には組織の鍵ペアがありません。"),
    "duplicate_case": _("この契約ですでに受領している案件が含まれています。"),
    "results_unanswered": _(
        "この結果パッケージが答える調査対象者データのパッケージが、この区にありません。"
    ),
    "results_foreign": _("この結果パッケージは別の契約で渡したデータに答えるものです。"),
    "results_answered_already": _("このバッチの結果はすでに取り込まれています。"),
    "results_missing": _("渡した案件の一部に結果がありません。"),
    "results_extra": _("渡していない案件の結果が含まれています。"),
    "results_photo": _("結果の写真がパッケージにないか、画像ではありません。"),
    "certificate_shape": _("消去証明書の内容が読み取れません。"),
    "certificate_other_contract": _("この消去証明書は別の契約のものです。"),
    "certificate_already": _("この契約の消去証明書はすでに検証済みです。"),
    "certificate_packages": _(
        "証明書に書かれた受領パッケージが、区が渡したパッケージと一致しません。"
    ),
    "certificate_results": _(
        "証明書に書かれた結果が、区が受け取った結果パッケージと一致しません。"
    ),
    "certificate_counts": _("証明書の件数が区の記録と一致しません。"),
    "incident_shape": _("事故報告の内容が読み取れません。"),
    "incident_other_contract": _("この事故報告は別の契約のものです。"),
    "incident_refs": _("事故報告に、この契約にない案件の参照番号が含まれています。"),
    "incident_outdated": _("この事故報告は、取り込み済みの版より新しくありません。"),
    "incident_here": _(
        "この事故報告は、この Genchi で記録されたもの、または受け取る側のものです。"
    ),
    "secret_unreadable": _("組織の秘密鍵を復号できません。マスター鍵が違うか、鍵が壊れています。"),
    "exists": _("組織の鍵ペアはすでにあります(作り直すには置き換えを指定)。"),
    "no_partner_card": _("相手の公開鍵カードが登録されていません。鍵の交換を先に行ってください。"),
    "unknown_org": _("公開鍵カードの組織がこの Genchi に登録されていません。"),
    "own_card": _("自分の組織の公開鍵カードは相手として登録できません。"),
    "same_side": _("相手方(区と受託事業者の組み合わせ)ではない組織のカードです。"),
    "fingerprint_differs": _(
        "読み上げられたフィンガープリントとカードが一致しません。登録しません。"
    ),
    "card_exists": _(
        "この組織の公開鍵カードはすでに登録されています(鍵の更新なら置き換えを指定)。"
    ),
    "bad_contract_code": _("契約の受け取り鍵カードの契約コードが不正です。"),
    "bad_card_signature": _(
        "契約の受け取り鍵カードの署名が、登録されている相手の署名鍵と一致しません。"
        "カードが壊れているか改変されています。"
    ),
    "not_party": _("この組織はこの契約の当事者ではありません。"),
    "recipient_key_exists": _("この契約の受け取り鍵はすでにあります。"),
    "no_contract_card": _(
        "相手の契約の受け取り鍵カードが登録されていません。カードを照合して登録してください。"
    ),
    "contract_erased": _("この契約は消去済みで、受け取り鍵は破棄されています。"),
}

# reason -> its message, which may name the refusal's params (see errors.REASONS).
REASON_MESSAGES: dict[str, Promise] = {
    # Said in the user's words: they chose a file; it is not one of ours, or it broke.
    # Where the side that sent it is not known (e.g. `genchi package inspect`); an import
    # names it (NOT_AGE_FROM).
    "not_age": _(
        "このファイルは Genchi の引渡パッケージではないか、ファイルが壊れています。"
        "相手方から受け取ったUSBメモリの「.genchi.age」で終わるファイルを選んでください。"
        "同じファイルで続けて失敗する場合は、相手方に連絡して書き出し直してもらってください。"
    ),
    "armored": _(
        "ASCII 形式 (armor) の age ファイルには対応していません。バイナリ形式で作成してください。"
    ),
    "work_factor": _(
        "パスワードの鍵導出の強度 (2^%(work)d) が上限 (2^%(max_work)d) を超えています。"
    ),
    "header_field_too_long": _(
        "暗号化ファイル (age) のヘッダーに、上限より長い項目があります (%(field)s)。"
    ),
    "passphrase_needed": _(
        "このパッケージはパスワードで暗号化されています。パスワードを入力してください。"
    ),
    "wrong_passphrase": _("パスワードが違います。"),
    "key_needed": _("このパッケージは鍵で暗号化されています。パスワードでは開けません。"),
    "other_recipient": _(
        "このパッケージは別の鍵あてに暗号化されています。この組織の鍵では開けません。"
    ),
    "header_mac": _("暗号化ファイルのヘッダーが改ざんされています。"),
    "bad_archive": _("パッケージ内のアーカイブ (tar) の形式が不正です。"),
    "unsafe_name": _("アーカイブ内に不正なパスがあります: %(name)s"),
    "name_not_utf8": _("アーカイブ内のファイル名が不正です。"),
    "link": _("アーカイブ内にリンクがあります: %(name)s"),
    "special": _("アーカイブ内に通常ファイル以外があります: %(name)s"),
    "duplicate_name": _("アーカイブ内に同じ名前のファイルが重複しています: %(name)s"),
    "data_after_end": _("アーカイブの終端の後ろにデータがあります。"),
    # the manifest: "マニフェストの内容が不正です (…)。" around the field or these words
    "manifest_field": _("マニフェストの内容が不正です (%(detail)s)。"),
    "manifest_not_json": _("JSON として読めません"),
    "manifest_too_deep": _("入れ子が深すぎます"),
    "manifest_number": _("数値が不正です (NaN・Infinity、桁数が多すぎる、または範囲外の数)"),
    "manifest_not_object": _("JSON オブジェクトではありません"),
    "manifest_not_canonical": _("正規化された JSON ではありません"),
    "manifest_unknown_fields": _("未知の項目: %(names)s"),
    "manifest_member_order": _("members の並び"),
    "manifest_photos_not_results": _("写真は結果パッケージにのみ含められます"),
    "format_version": _(
        "このバージョンの Genchi が対応していない形式のパッケージです "
        "(形式バージョン %(version)s)。"
    ),
    "signature_length": _("マニフェストの署名の形式が不正です。"),
    "cannot_open": _("パッケージのファイルを開けません: %(file)s"),
    "manifest_not_first": _("パッケージの先頭に manifest.json がありません。"),
    "manifest_too_large": _("manifest.json が大きすぎます。"),
    "changed_after_verification": _(
        "検証の後でパッケージのファイルが変わりました。取り込みを中止しました。"
    ),
    "recipient_named": _("このパッケージは別の受け取り先 (%(recipient)s) あてです。"),
    "contract_named": _("このパッケージは別の契約 (%(contract)s) のものです。"),
    "sender_named": _("このパッケージの送り手 (%(sender)s) が想定と違います。"),
    "package_named": _("このパッケージ (ID %(package_id)s) は既に取り込まれています。"),
    "member_missing": _("マニフェストに載っている %(name)s がアーカイブにありません。"),
    "member_out_of_order": _("アーカイブ内のファイルの順序がマニフェストと違います (%(name)s)。"),
    "member_unlisted": _("マニフェストに載っていないファイルがあります: %(name)s"),
    "member_size": _("%(name)s の大きさがマニフェストと一致しません。"),
    "member_hash": _("%(name)s の内容がマニフェストのハッシュ値と一致しません。"),
    "member_count": _(
        "%(name)s の件数 (%(count)d 件) がマニフェストの件数 (%(expected)d 件) と一致しません。"
    ),
    # records: a problem of one record, then where it is (line or record number)
    "not_object": _("レコードが JSON オブジェクトではありません"),
    "key_not_string": _("項目名が文字列ではありません"),
    "case_fields": _(
        "案件レコードの項目が4項目(郵便番号・住所・方書・氏名)+案件番号と一致しません "
        "(余分: %(extra)s / 不足: %(missing)s)"
    ),
    "field_invalid": _("項目 %(field)s が文字列ではないか長すぎます"),
    "empty_case_ref": _("案件番号が空です"),
    "no_case_ref": _("結果レコードに案件番号 (case_ref) がありません"),
    "result_fields": _(
        "結果レコードの項目が返却してよい項目と一致しません (余分: %(extra)s / 不足: %(missing)s)"
    ),
    "result_field_invalid": _("結果レコードの項目 %(field)s の値が正しくありません"),
    "line_not_json": _("records.jsonl の %(number)d 行目が JSON として読めません。"),
    "line_json_limit": _(
        "records.jsonl の %(number)d 行目が上限を超えています "
        "(入れ子が深すぎる、または数値が NaN・Infinity・桁数が多すぎる数)。"
    ),
    "line_too_long": _("レコードの行が長すぎます。"),
    "last_line_no_lf": _("records.jsonl の最後の行が改行で終わっていません"),
    "csv_not_utf8": _("records.csv が UTF-8 ではありません"),
    "csv_no_bom": _("records.csv の先頭に BOM がありません"),
    "csv_unreadable": _("records.csv が CSV として読めません"),
    "csv_header": _("records.csv の見出し行がマニフェストの列と一致しません"),
    "duplicate_photo": _("写真の名前が重複しています"),
    # writing: the same messages as the codes', naming what they are about
    "changed_photo": _("写真が書き出し中に変更されました: %(name)s"),
    "irregular_photo": _("写真が通常のファイルではありません: %(name)s"),
    "bad_photo_name": _("写真の名前が不正です (英数字と . _ - と / のみ): %(name)s"),
    "space_needed": _("出力先の空き容量が足りません (必要 %(needed)s、空き %(free)s)"),
    # key cards and secret key files
    "card_version": _("対応していない版の公開鍵カードです (版 %(version)s)。"),
    "recipient_missing": _("公開鍵カードに暗号化用の公開鍵 (age) がありません。"),
    "signing_key_missing": _("公開鍵カードに署名用の公開鍵 (Ed25519) がありません。"),
    "encryption_fingerprint": _(
        "公開鍵カードの暗号化用公開鍵とフィンガープリントが一致しません。"
        "カードが壊れているか改変されています。"
    ),
    "signing_fingerprint": _(
        "公開鍵カードの署名用公開鍵とフィンガープリントが一致しません。"
        "カードが壊れているか改変されています。"
    ),
    # secret key files: "秘密鍵ファイルが不正です (…)。" around these words
    "secret_not_json": _("JSON として読めません"),
    "secret_format": _("形式名"),
    "secret_version": _("バージョン"),
    "secret_org": _("組織"),
    "secret_created_at": _("作成日時"),
    "secret_encryption_key": _("暗号化鍵"),
    "secret_signing_key": _("署名鍵"),
}

# A wrong file given to an import, by the side that sent the package (the refusal's
# `sender_side`, set by genchi.transfer.services.incoming): the contractor receiving cases
# got them from the ward, the ward receiving results got them from the contractor.
NOT_AGE_FROM: dict[str, Promise] = {
    "ward": _(
        "このファイルは Genchi の引渡パッケージではないか、ファイルが壊れています。"
        "区から受け取ったUSBメモリの「.genchi.age」で終わるファイルを選んでください。"
        "同じファイルで続けて失敗する場合は、区に連絡して書き出し直してもらってください。"
    ),
    "contractor": _(
        "このファイルは Genchi の引渡パッケージではないか、ファイルが壊れています。"
        "受託事業者から受け取ったUSBメモリの「.genchi.age」で終わるファイルを選んでください。"
        "同じファイルで続けて失敗する場合は、受託事業者に連絡して書き出し直してもらってください。"
    ),
}

# Wrappers: the manifest's and a secret key file's faults, and where a record is.
_MANIFEST_INVALID = REASON_MESSAGES["manifest_field"]
_SECRET_INVALID = _("秘密鍵ファイルが不正です (%(what)s)。")
_AT_LINE = _("records.jsonl の %(number)d 行目: %(problem)s。")
_AT_RECORD = _("%(number)d 件目のレコード: %(problem)s")
_MANIFEST_WORDS = {
    "manifest_not_json",
    "manifest_too_deep",
    "manifest_number",
    "manifest_not_object",
    "manifest_not_canonical",
    "manifest_unknown_fields",
    "manifest_member_order",
    "manifest_photos_not_results",
}
_SECRET_WORDS = {reason for reason in REASONS if reason.startswith("secret_")}
# Names read from a hostile archive, or given for a photo, are shown quoted (and cut).
_QUOTED_NAMES = {"unsafe_name", "link", "special", "duplicate_name", "member_unlisted"}
_QUOTED_NAMES.add("bad_photo_name")


def _megabytes(size: int) -> str:
    return f"{-(-size // 1_000_000):,} MB"


# How a param is shown, where the raw value is not what a person reads.
_SHOWN: dict[str, Callable[[Any], Any]] = {
    "needed": _megabytes,
    "free": _megabytes,
    "version": repr,
}


def _params(exc: Refused) -> dict[str, Any]:
    shown = {key: _SHOWN.get(key, lambda v: v)(value) for key, value in exc.params.items()}
    if exc.reason in _QUOTED_NAMES and "name" in shown:
        shown["name"] = repr(str(shown["name"])[:200])
    if exc.reason in ("case_fields", "result_fields"):
        shown["extra"] = shown.get("extra") or gettext("なし")
        shown["missing"] = shown.get("missing") or gettext("なし")
    if "line" in shown:
        shown["number"] = shown["line"]
    return shown


def _format(template: Promise, params: Mapping[str, Any]) -> str:
    return str(template) % params if params else str(template)


def refusal_message(exc: Refused) -> str:
    """What to show a person about `exc`, in the language active now."""
    if exc.message:
        return exc.message
    if exc.reason is None:
        return str(MESSAGES[exc.code])
    params = _params(exc)
    if exc.reason == "not_age" and params.get("sender_side") in NOT_AGE_FROM:
        return str(NOT_AGE_FROM[params["sender_side"]])
    if exc.reason == "manifest_field":
        return _format(_MANIFEST_INVALID, {"detail": params["field"]})
    text = _format(REASON_MESSAGES[exc.reason], params)
    if exc.reason in _MANIFEST_WORDS:
        return _format(_MANIFEST_INVALID, {"detail": text})
    if exc.reason in _SECRET_WORDS:
        return _format(_SECRET_INVALID, {"what": text})
    if exc.reason in RECORD_PROBLEMS and "line" in params:
        return _format(_AT_LINE, {"number": params["line"], "problem": text})
    if exc.reason in RECORD_PROBLEMS and "record" in params:
        return _format(_AT_RECORD, {"number": params["record"], "problem": text})
    return text

"""Errors of the package format: one exception type, a stable machine code, a reason.

The codes are part of the format specification (docs/package-format.md): callers log them,
tests assert them, and the user sees the message, translated (Japanese msgids, English
catalogue) into the language active when the error is raised.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# code -> default message (lazy: resolved in the active language when raised). A raise site
# may pass a more precise message.
REFUSAL_MESSAGES: dict[str, Promise] = {
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
}


class PackageRefused(Exception):
    """A package was refused. Nothing from it may be stored.

    `code` is stable (see REFUSAL_MESSAGES), `message` is safe to show (a plain str in the
    language active at raise time), `detail` is optional technical context without
    personal data (for the log).
    """

    def __init__(self, code: str, message: str | None = None, detail: str | None = None) -> None:
        if code not in REFUSAL_MESSAGES:
            raise ValueError(f"unknown refusal code: {code}")
        self.code = code
        self.message = str(message or REFUSAL_MESSAGES[code])
        self.detail = detail
        super().__init__(f"{self.message} [{code}]")


class KeyCardError(ValueError):
    """An imported public key card (or secret key file) is invalid; the message is shown
    to the user (translated by the raise site)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{message} [{code}]")

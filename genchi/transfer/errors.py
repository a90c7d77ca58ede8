"""Errors of the package format: one exception type, a stable machine code, a Japanese reason.

The codes are part of the format specification (docs/package-format.md): callers log them,
tests assert them, and the user sees the Japanese message.
"""

from __future__ import annotations

# code -> default Japanese message. A raise site may pass a more precise message.
REFUSAL_MESSAGES: dict[str, str] = {
    "unknown_format": "Genchi の受け渡しパッケージとして読めない形式です。",
    "wrong_key": "このパッケージを開く鍵またはパスワードが違います。",
    "tampered": "パッケージが改ざんされているか、壊れています。",
    "truncated": "パッケージのファイルが途中で切れています (コピーが完了していない可能性があります)。",
    "unsigned": "マニフェストに署名がありません。",
    "bad_signature": "マニフェストの署名が、登録されている送り手の署名鍵と一致しません。",
    "wrong_contract": "このパッケージは別の契約のものです。",
    "wrong_recipient": "このパッケージは別の受け取り先あてのものです。",
    "wrong_sender": "このパッケージの送り手が想定と違います。",
    "wrong_kind": "パッケージの種類 (案件・結果・証明書) が想定と違います。",
    "replayed": "このパッケージは既に取り込まれています。",
    "path_traversal": "アーカイブ内に不正なパス (絶対パスや「..」) があります。",
    "link_member": "アーカイブ内にリンクがあります。リンクは受け付けません。",
    "special_member": "アーカイブ内に通常ファイル以外 (デバイス・ディレクトリ等) があります。",
    "duplicate_member": "アーカイブ内に同じ名前のファイルが重複しています。",
    "unexpected_member": "マニフェストに載っていないファイルがアーカイブ内にあります。",
    "missing_member": "マニフェストに載っているファイルがアーカイブ内にありません。",
    "hash_mismatch": "ファイルの内容がマニフェストのハッシュ値と一致しません。",
    "count_mismatch": "件数がマニフェストの件数と一致しません。",
    "bad_record": "レコードの形式が不正です。",
}


class PackageRefused(Exception):
    """A package was refused. Nothing from it may be stored.

    `code` is stable (see REFUSAL_MESSAGES), `message` is Japanese and safe to show,
    `detail` is optional technical context without personal data (for the log).
    """

    def __init__(self, code: str, message: str | None = None, detail: str | None = None) -> None:
        if code not in REFUSAL_MESSAGES:
            raise ValueError(f"unknown refusal code: {code}")
        self.code = code
        self.message = message or REFUSAL_MESSAGES[code]
        self.detail = detail
        super().__init__(f"{self.message} [{code}]")


class KeyCardError(ValueError):
    """An imported public key card (or secret key file) is invalid; message in Japanese."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{message} [{code}]")

"""`genchi visits …`: the surveyor's visits from the command line.

check-text: the forbidden-data guard (特記事項 5) for scripts and for checking a change
of the word list. Reads text on standard input (UTF-8) and prints one JSON object
{"allowed": true|false, "categories": [...], "words": [...]}; exit 0 either way, 2 on a
usage error (unreadable input included). Nothing is logged: the text is not a survey
record and is not kept.
"""

from __future__ import annotations

import json
import sys

from genchi.core.commands import CommandError, GenchiCommand
from genchi.fieldwork.forbidden import WordListError, check_text, load_word_list

MAX_INPUT = 1_000_000  # bytes; a note is a few hundred characters
_BOM = b"\xef\xbb\xbf"


class UsageError(CommandError):
    def __init__(self, message: str):
        super().__init__(message, returncode=2)


def read_text(source) -> str:
    raw = source.read(MAX_INPUT + 1)
    if len(raw) > MAX_INPUT:
        raise UsageError(f"入力が長すぎます({MAX_INPUT:,} バイトまで)")
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"標準入力を UTF-8 として読めません({exc.start + 1} バイト目)。"
            "文字コードを UTF-8 にして渡してください"
        ) from exc


class Command(GenchiCommand):
    help = "訪問記録に関する操作(check-text: 自由記述の収集禁止事項チェック)。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{check-text}")
        sub.add_parser(
            "check-text",
            help="標準入力の文章を収集禁止事項(思想・信条、出身、戸籍、障害、犯罪、健康など)と"
            "照合し、JSON で結果を出力します",
        )

    def run(self, *args, action: str, **options):
        if action == "check-text":
            self._check_text()

    def _check_text(self) -> None:
        stdin = getattr(sys.stdin, "buffer", None)
        # A text stream without bytes underneath (e.g. replaced in a test) is read as is.
        text = sys.stdin.read() if stdin is None else read_text(stdin)
        try:
            load_word_list()
        except WordListError as exc:
            raise CommandError(f"収集禁止語リストに誤りがあります: {exc}") from exc
        result = check_text(text)
        self.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False))

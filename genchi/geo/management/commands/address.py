"""`genchi address normalize` and `genchi address postal`.

normalize: UTF-8 lines on standard input → one JSON object per line on standard
output, in order, flushed line by line.  A line that cannot be read (invalid UTF-8,
empty, too long, not an address) still gets its line, with level 0 and an "error".
With --with-postal each line is "住所<TAB>郵便番号" and the code is checked.

postal: the places of a postal code.
"""

from __future__ import annotations

import json
import sys
from typing import Any, BinaryIO

from genchi.core.commands import CommandError, GenchiCommand
from genchi.geo import normalize, postal_lookup
from genchi.geo.postal import clean_code

_BOM = b"\xef\xbb\xbf"


def normalize_stream(
    source: BinaryIO, sink: BinaryIO, with_postal: bool = False, flush: bool = True
) -> int:
    """Normalise every line of `source` into JSON lines on `sink`; returns the count."""
    count = 0
    for number, raw in enumerate(source, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        raw = raw.rstrip(b"\r\n")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            record: dict[str, Any] = {
                "input": raw.decode("utf-8", errors="replace"),
                **normalize("").to_dict(),
            }
            record["error"] = f"{number}行目は UTF-8 として読めません"
        else:
            code = None
            if with_postal and "\t" in line:
                line, code = line.rsplit("\t", 1)
            try:
                record = {"input": line, **normalize(line, code).to_dict()}
            except Exception as exc:  # noqa: BLE001 - one bad line must not stop the stream
                record = {"input": line, **normalize("").to_dict()}
                record["error"] = f"{number}行目を処理できませんでした: {type(exc).__name__}"
        sink.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        if flush:
            sink.flush()
        count += 1
    return count


class Command(GenchiCommand):
    help = "住所の正規化とジオコーディング(オフライン)、郵便番号の検索。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        norm = sub.add_parser(
            "normalize",
            help="標準入力の住所を1行ずつ正規化し、JSON Lines で出力します",
        )
        norm.add_argument(
            "--with-postal",
            action="store_true",
            help="各行を「住所<TAB>郵便番号」として読み、郵便番号との一致も確かめます",
        )
        norm.add_argument(
            "--no-flush",
            action="store_true",
            help="1行ごとに出力をフラッシュしません(大量処理向け)",
        )
        pc = sub.add_parser("postal", help="郵便番号の地域を表示します")
        pc.add_argument("code", help="郵便番号(例: 1600022、160-0022)")
        pc.add_argument("--json", action="store_true", help="JSON Lines で出力します")

    def run(self, *args, action: str, **options):
        try:
            if action == "normalize":
                normalize_stream(
                    sys.stdin.buffer,
                    sys.stdout.buffer,
                    with_postal=options["with_postal"],
                    flush=not options["no_flush"],
                )
                sys.stdout.buffer.flush()
            elif action == "postal":
                self._postal(options["code"], options["json"])
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
            sys.stderr.close()
        except KeyboardInterrupt as exc:
            raise CommandError("中断しました") from exc
        except OSError as exc:
            raise CommandError(f"入出力エラー: {exc.strerror or exc}") from exc

    def _postal(self, code: str, as_json: bool) -> None:
        clean = clean_code(code)
        if clean is None:
            raise CommandError(f"郵便番号「{code}」の形式が正しくありません(7桁の数字)")
        places = postal_lookup(clean)
        if not places:
            raise CommandError(f"郵便番号 {clean[:3]}-{clean[3:]} は存在しません")
        for place in places:
            if as_json:
                self.stdout.write(json.dumps(place.to_dict(), ensure_ascii=False))
                continue
            line = f"〒{clean[:3]}-{clean[3:]} {place.pref}{place.city}{place.town}"
            if place.office:
                line += f" {place.note or ''}({place.office})"
            elif place.note:
                line += f"({place.note})"
            self.stdout.write(line)

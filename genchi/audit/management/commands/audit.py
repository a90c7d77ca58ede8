from genchi.audit import chain
from genchi.audit.auditkey import AuditKeyError
from genchi.core.commands import CommandError, GenchiCommand


class Command(GenchiCommand):
    help = "監査ログ: verify でハッシュ連鎖・アンカーファイル・チェックポイント・受け渡し票を検査します。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "verify",
            help="ハッシュ連鎖、アンカーファイル、チェックポイント、受け渡し票の先頭ハッシュを検査"
            "(正常なら終了コード0)",
        )
        sub.add_parser("head", help="件数と先頭ハッシュを表示")
        sub.add_parser(
            "anchor",
            help="停電などでアンカーファイルに書けなかった記録の行を書き足す"
            "(連鎖が正常で、既存の行がすべて一致する場合のみ)",
        )

    def run(self, *args, action, **options):
        if action == "head":
            count, head_hash = chain.head()
            self.stdout.write(f"{count} {head_hash}")
            return
        if action == "anchor":
            self._reanchor()
            return
        result = chain.verify()
        if not result.ok:
            lines = "\n".join(f"  - {problem.text}" for problem in result.problems)
            raise CommandError(
                f"監査ログの検査に失敗しました(連鎖は記録 #{result.count} まで正常):\n{lines}"
            )
        checked = result.checked
        self.stdout.write(
            f"監査ログは正常です: {result.count} 件 先頭ハッシュ {result.head_hash}\n"
            f"  アンカーファイル {checked.get('anchor', 0)} 行、"
            f"チェックポイント {checked.get('checkpoints', 0)} 件、"
            f"受け渡し票 {checked.get('slips', 0)} 枚と一致しました"
        )

    def _reanchor(self) -> None:
        try:
            written = chain.reanchor()
        except (chain.ReanchorRefused, AuditKeyError) as exc:
            raise CommandError(f"アンカーファイルに書き足せません: {exc}") from None
        if not written:
            self.stdout.write("アンカーファイルに欠けている行はありません。")
            return
        chain.record(
            "audit.reanchored",
            detail={"first": written[0], "last": written[-1], "count": len(written)},
        )
        self.stdout.write(
            f"アンカーファイルに {len(written)} 行を書き足しました"
            f"(記録 #{written[0]} – #{written[-1]})。"
        )

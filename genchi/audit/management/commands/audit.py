from genchi.audit import chain
from genchi.core.commands import CommandError, GenchiCommand


class Command(GenchiCommand):
    help = "監査ログ: verify でハッシュ連鎖を検査します。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="ハッシュ連鎖の検査(正常なら終了コード0)")
        sub.add_parser("head", help="件数と先頭ハッシュを表示")

    def run(self, *args, action, **options):
        if action == "head":
            count, head_hash = chain.head()
            self.stdout.write(f"{count} {head_hash}")
            return
        result = chain.verify()
        if not result.ok:
            raise CommandError(
                f"監査ログの検査に失敗しました: 記録 #{result.broken_seq}: {result.reason}"
                f"(それ以前の {result.count} 件は正常)"
            )
        self.stdout.write(f"監査ログは正常です: {result.count} 件 先頭ハッシュ {result.head_hash}")

from genchi.audit.chain import record
from genchi.core.commands import CommandError, GenchiCommand
from genchi.vault.keys import rotate_master_key
from genchi.vault.master import MasterKeyError


class Command(GenchiCommand):
    help = "鍵の管理: rotate-master でマスター鍵を更新し、全契約のデータ鍵を包み直します。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rotate-master", help="マスター鍵を新しくして、全データ鍵を包み直す")

    def run(self, *args, action, **options):
        if action == "rotate-master":
            try:
                old_id, new_id, count = rotate_master_key()
            except MasterKeyError as exc:
                raise CommandError(str(exc)) from exc
            record("vault.master_rotated", detail={"old": old_id, "new": new_id, "keys": count})
            self.stdout.write(
                f"マスター鍵を更新しました: {old_id} → {new_id}(データ鍵 {count} 件を包み直し)"
            )

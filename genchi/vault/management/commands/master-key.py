"""`genchi master-key rotate`: a new master key; every secret it wraps is re-wrapped."""

from genchi.core.commands import CommandError, GenchiCommand
from genchi.vault.keys import rotate_master_key
from genchi.vault.master import MasterKeyError


class Command(GenchiCommand):
    help = (
        "マスター鍵の管理: rotate でマスター鍵を新しくし、全契約のデータ鍵と"
        "組織の秘密鍵を包み直します。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rotate", help="マスター鍵を新しくして、それで包む鍵をすべて包み直す")

    def run(self, *args, action, **options):
        try:
            # Other apps' secrets (organisation keys) are re-wrapped in the same transaction,
            # which also writes the log entry.
            old_id, new_id, count = rotate_master_key()
        except MasterKeyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"マスター鍵を更新しました: {old_id} → {new_id}(鍵 {count} 件を包み直し)")
        # The old key is gone: backups made before now need it and no longer open.
        self.stdout.write(
            "これより前のバックアップは開けなくなりました。新しいマスター鍵を "
            "`genchi keys export-master` で控え、`genchi backup create` で新しいバックアップを"
            "作ってください。"
        )

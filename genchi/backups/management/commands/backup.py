from pathlib import Path

from genchi.audit.chain import record
from genchi.backups import snapshot
from genchi.core.commands import CommandError, GenchiCommand
from genchi.core.terminal import terminal_qr
from genchi.package_format import age
from genchi.vault.master import MasterKeyError, master_key_from_text


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{what}を読めません: {path}({exc.__class__.__name__})") from exc


class Command(GenchiCommand):
    help = (
        "暗号化バックアップ: init で宛先(公開鍵)を設定、create で書き出し、"
        "restore で空のデータフォルダに復元、inspect で中身の目録を表示します(docs/backup.md)。"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser("init", help="バックアップの宛先(age の公開鍵)を設定する")
        source = init.add_mutually_exclusive_group(required=True)
        source.add_argument("--recipient", help="オフラインの端末で作った公開鍵(age1…)")
        source.add_argument(
            "--generate",
            action="store_true",
            help="鍵ペアをここで作り、秘密鍵を一度だけ表示する(紙や保管用の媒体へ)",
        )
        create = sub.add_parser("create", help="バックアップを書き出す")
        create.add_argument("--out", required=True, help="書き出すファイル(データフォルダの外)")
        restore = sub.add_parser("restore", help="空のデータフォルダとデータベースに復元する")
        restore.add_argument("file")
        restore.add_argument("--identity", required=True, help="秘密鍵ファイル(AGE-SECRET-KEY-1…)")
        restore.add_argument(
            "--master-key", required=True, help="マスター鍵(GENCHI-MK1 … の文字列か鍵ファイル)"
        )
        inspect = sub.add_parser("inspect", help="バックアップの目録を表示する")
        inspect.add_argument("file")
        inspect.add_argument("--identity", required=True)

    def run(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except snapshot.BackupError as exc:
            raise CommandError(str(exc)) from exc

    def _init(self, *, recipient=None, generate=False, **options):
        if generate:
            identity = age.generate_identity()
            recipient = age.identity_to_recipient(identity)
        path = snapshot.set_recipient(recipient)
        record("backup.recipient_set", detail={"recipient": recipient, "generated": generate})
        self.stdout.write(f"バックアップの宛先を設定しました: {recipient}({path.name})")
        if generate:
            self.stdout.write("")
            self.stdout.write(
                "復元に使う秘密鍵です。いま紙に写すか保管用の媒体に保存してください。"
            )
            self.stdout.write("サーバーには保存していません。二度と表示できません。")
            self.stdout.write("")
            self.stdout.write(identity)
            self.stdout.write(terminal_qr(identity), ending="")

    def _create(self, *, out, **options):
        summary = snapshot.create_backup(Path(out))
        record(
            "backup.created",
            detail={
                "file": summary.path.name,
                "size": summary.size,
                "sha256": summary.sha256,
                "engine": summary.engine,
                "files": summary.files,
                "master_key_id": summary.master_key_id,
            },
        )
        self.stdout.write(f"バックアップを書き出しました: {summary.path}")
        self.stdout.write(f"  大きさ {summary.size:,} バイト、SHA-256 {summary.sha256}")
        self.stdout.write(
            f"  データベース {summary.engine}、ファイル {summary.files} 件、"
            f"開くにはマスター鍵 {summary.master_key_id} が必要です。"
        )

    def _restore(self, *, file, identity, master_key, **options):
        try:
            master = master_key_from_text(_read(master_key, "マスター鍵"))
        except MasterKeyError as exc:
            raise CommandError(str(exc)) from exc
        who = snapshot.read_identity(_read(identity, "秘密鍵ファイル"))
        summary = snapshot.restore_backup(Path(file), who, master)
        record("backup.restored", detail={"file": Path(file).name, "engine": summary.engine,
                                          "made_at": summary.created_at})  # fmt: skip
        self.stdout.write(
            f"復元しました({summary.created_at} の Genchi {summary.genchi_version} の"
            f"バックアップ、ファイル {summary.files} 件)。"
        )
        self.stdout.write(
            "次に `genchi migrate`、`genchi audit verify` を実行してから起動してください。"
        )

    def _inspect(self, *, file, identity, **options):
        manifest = snapshot.inspect_backup(
            Path(file), snapshot.read_identity(_read(identity, "秘密鍵ファイル"))
        )
        for key in ("genchi_version", "created_at", "engine", "master_key_id"):
            self.stdout.write(f"{key}: {manifest[key]}")
        self.stdout.write(f"files: {len(manifest['files'])}")

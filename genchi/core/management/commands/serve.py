"""`genchi serve`: collect the static files, check the database, run genchi.core.serving."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command

from genchi.core.commands import CommandError, GenchiCommand
from genchi.core.database import pending_migrations
from genchi.core.serving import default_workers, parse_bind, serve


class Command(GenchiCommand):
    help = (
        "本番用のサーバー(gunicorn)とジョブのワーカーを起動します。"
        "静的ファイルを集め、データベースの移行が済んでいることを確かめてから起動します。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="ホスト:ポート")
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="gunicorn のワーカープロセス数(既定: 2 × CPU コア数 + 1)",
        )
        parser.add_argument("--timeout", type=int, default=120, help="1 リクエストの上限(秒)")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="ジョブのワーカーを起動しない(別のホストで動かす)",
        )

    def run(self, *args, bind, workers, timeout, no_worker, **options):
        bind = parse_bind(bind)
        if workers < 1:
            raise CommandError("--workers は 1 以上にしてください。")
        self._check_migrated()
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"静的ファイル: {settings.STATIC_ROOT.name}/ に用意しました。")
        self.stdout.flush()
        serve(bind, workers=workers, timeout=timeout, with_worker=not no_worker,
              write=self.stdout.write)  # fmt: skip

    def _check_migrated(self) -> None:
        pending = pending_migrations()
        if pending:
            raise CommandError(
                f"データベースの移行が {pending} 件残っています。"
                "先に `genchi migrate` を実行してください(docs/deploy.md)。"
            )

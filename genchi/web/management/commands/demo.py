from django.conf import settings
from django.core.management import call_command

from genchi.core.commands import GenchiCommand
from genchi.core.demo import prepare_demo
from genchi.core.serving import serve
from genchi.parties.demo import DEMO_PASSWORD, DEMO_PEOPLE, demo_is_prepared


class Command(GenchiCommand):
    help = (
        "デモ環境を準備して 127.0.0.1:8000 で起動します(genchi serve と同じサーバーで、"
        "ジョブのワーカーも一緒に起動します。"
        "--no-serve で準備のみ)。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="準備だけして終了する")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def run(self, *args, no_serve=False, addrport="127.0.0.1:8000", **options):
        call_command("migrate", interactive=False, verbosity=0)
        prepare_demo(demo_is_prepared, self.stdout.write)
        self.stdout.write("")
        self.stdout.write(f"データフォルダ: {settings.DATA_DIR.name}/")
        self.stdout.write("デモの利用者(パスワードはすべて共通):")
        for username, full_name, _org, role, _d in DEMO_PEOPLE:
            self.stdout.write(f"  {username:<14} {full_name}({role.label})")
        self.stdout.write(f"  パスワード: {DEMO_PASSWORD}")
        self.stdout.write("  確認コード: 別の端末で `.venv/bin/genchi demo-otp ユーザー名`")
        if no_serve:
            return
        self.stdout.write("")
        self.stdout.write(f"Genchi を起動します: http://{addrport}/ (Ctrl+C で終了)")
        self.stdout.flush()
        # The production server (`genchi serve`), with the demo's settings.
        serve(addrport, workers=2, write=self.stdout.write)

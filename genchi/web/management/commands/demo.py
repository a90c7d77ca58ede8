import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command

from genchi.core.commands import CommandError, GenchiCommand
from genchi.core.demo import prepare_demo
from genchi.parties.demo import DEMO_PASSWORD, DEMO_PEOPLE, demo_is_prepared

GENCHI = [sys.executable, "-m", "genchi"]


def _stop(process: subprocess.Popen, timeout: float = 15) -> int:
    """SIGTERM (a worker finishes the job under way), then SIGKILL if it does not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def serve_with_worker(addrport: str, write=print) -> None:
    """Run `genchi runserver` with `genchi worker` beside it; when the server stops (Ctrl+C,
    or it fails, e.g. the port is taken), the worker is stopped too."""

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # `kill` of the demo stops its children too
    worker = subprocess.Popen([*GENCHI, "worker"])  # noqa: S603 - Genchi itself
    write(f"ワーカーを起動しました(pid {worker.pid})")
    try:
        server = subprocess.Popen([*GENCHI, "runserver", addrport, "--noreload"])  # noqa: S603
        try:
            code = server.wait()
        except KeyboardInterrupt:  # Ctrl+C (it reaches the children too) or SIGTERM
            code = _stop(server)
    finally:
        _stop(worker)
        write("ワーカーを停止しました。")
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        raise CommandError(f"サーバーが異常終了しました(終了コード {code})。", returncode=code)


class Command(GenchiCommand):
    help = (
        "デモ環境を準備して 127.0.0.1:8000 で起動します(ジョブのワーカーも一緒に起動します。"
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
        serve_with_worker(addrport, self.stdout.write)

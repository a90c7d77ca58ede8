"""The production web server (gunicorn) and the job worker beside it: `genchi serve`
and `genchi demo` run Genchi through here.

One command for systemd, a container or `make demo`: static files are collected first
(hashed names under GENCHI_PRODUCTION, served by whitenoise), gunicorn serves
`genchi.wsgi` with a worker process per core (2 × cores + 1, as gunicorn advises), and
`genchi worker` runs the jobs as its own process unless `--no-worker` (a host that only
serves pages, with workers elsewhere: docs/deploy.md). SIGTERM or Ctrl+C stops both:
gunicorn finishes the requests under way, the worker the job step under way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from genchi.core.commands import CommandError

GENCHI = [sys.executable, "-m", "genchi"]


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


def parse_bind(bind: str) -> str:
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(
            f"--bind は ホスト:ポート の形で指定してください(例 127.0.0.1:8000): {bind}"
        )
    return bind


def gunicorn_command(bind: str, workers: int, timeout: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "genchi.wsgi:application",
        "--config",
        "python:genchi.core.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "20",
        # Load Genchi once, before forking: a start-up check that fails (a data folder
        # others can read) stops the server at once with its message, and the workers
        # share the loaded code.
        "--preload",
        # Nothing but systemd (signals) controls the server.
        "--no-control-socket",
        # The proxy in front terminates TLS and says so (docs/deploy.md).
        "--forwarded-allow-ips",
        os.environ.get("GENCHI_FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ]


def stop(process: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM (finish what is under way), then SIGKILL if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# The worker yields the CPU to the web processes (niceness 10): people wait for pages.
WORKER_COMMAND = [*GENCHI, "worker", "--nice", "10"]


def serve(bind: str, *, workers: int, timeout: int = 120, with_worker: bool = True, write=print):
    """Run gunicorn (and the job worker) until one of them stops or we are told to stop."""

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    worker = subprocess.Popen(WORKER_COMMAND) if with_worker else None  # noqa: S603
    if worker:
        write(f"ジョブのワーカーを起動しました(pid {worker.pid})")
    try:
        server = subprocess.Popen(gunicorn_command(bind, workers, timeout))  # noqa: S603
        write(f"Genchi を http://{bind}/ で起動しました(ワーカープロセス {workers})")
        try:
            code = server.wait()
        except KeyboardInterrupt:
            code = stop(server)
    finally:
        if worker:
            stop(worker)
            write("ジョブのワーカーを停止しました。")
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        raise CommandError(f"サーバーが異常終了しました(終了コード {code})。", returncode=code)

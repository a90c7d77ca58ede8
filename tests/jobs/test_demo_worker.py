"""`genchi demo` serves with a worker beside the server and stops it with the server."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from genchi.core.commands import CommandError
from genchi.web.management.commands import demo


def test_the_worker_stops_when_the_server_fails(tmp_path, monkeypatch, capfd):
    """The port is taken, so the server fails at once: the worker it started beside it
    must not outlive it."""
    monkeypatch.setenv("GENCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "genchi.settings")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    subprocess.run([sys.executable, "-m", "genchi", "migrate", "-v0"], check=True)
    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(demo.subprocess, "Popen", recording_popen)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        lines: list[str] = []
        with pytest.raises(CommandError):
            demo.serve_with_worker(f"127.0.0.1:{port}", lines.append)
    worker, server = started
    assert worker.args[-1] == "worker" and server.args[-3] == "runserver"
    assert worker.returncode is not None and server.returncode not in (None, 0)
    assert lines == [f"ワーカーを起動しました(pid {worker.pid})", "ワーカーを停止しました。"]

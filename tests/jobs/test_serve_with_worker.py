"""`genchi serve` (and `genchi demo`, which serves the same way) runs gunicorn with the job
worker beside it, and stops the worker with the server."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest
from django.db import connection

from genchi.core import serving
from genchi.core.commands import CommandError

from .conftest import ROOT


def test_the_worker_stops_when_the_server_fails(job_backend, tmp_path, monkeypatch):
    """The port is taken, so the server fails: the worker it started beside it (on this
    session's test database) must not outlive it."""
    monkeypatch.setenv("GENCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    monkeypatch.setenv("GENCHI_TEST_DATABASE_NAME", str(connection.settings_dict["NAME"]))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(serving.subprocess, "Popen", recording_popen)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        lines: list[str] = []
        with pytest.raises(CommandError):
            serving.serve(f"127.0.0.1:{port}", workers=1, write=lines.append)
    worker, server = started
    assert worker.args == serving.WORKER_COMMAND and "gunicorn" in server.args
    # Stopped by serve (SIGTERM, before or after its clean-stop handler), not crashed.
    assert worker.returncode in (0, -signal.SIGTERM) and server.returncode not in (None, 0)
    assert lines[0] == f"ジョブのワーカーを起動しました(pid {worker.pid})"
    assert lines[-1] == "ジョブのワーカーを停止しました。"


@pytest.mark.parametrize("bind", ["8000", "127.0.0.1", "127.0.0.1:x", ":8000", "h:70000"])
def test_a_wrong_bind_is_refused_in_words(bind):
    with pytest.raises(CommandError, match="ホスト:ポート"):
        serving.parse_bind(bind)

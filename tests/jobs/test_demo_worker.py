"""`genchi demo` serves with a worker beside the server and stops it with the server."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest
from django.db import connection

from genchi.core.commands import CommandError
from genchi.web.management.commands import demo

from .conftest import ROOT


def test_the_worker_stops_when_the_server_fails(django_db_setup, tmp_path, monkeypatch):
    """The port is taken, so the server fails at once: the worker it started beside it
    (on this session's test database) must not outlive it."""
    monkeypatch.setenv("GENCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    monkeypatch.setenv("GENCHI_TEST_DATABASE_NAME", str(connection.settings_dict["NAME"]))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
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
    # Stopped by the demo (SIGTERM, before or after its clean-stop handler), not crashed.
    assert worker.returncode in (0, -signal.SIGTERM) and server.returncode not in (None, 0)
    assert lines == [f"ワーカーを起動しました(pid {worker.pid})", "ワーカーを停止しました。"]

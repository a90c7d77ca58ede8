"""Running Genchi for real: `genchi serve`, the health endpoint, JSON log lines, the
version (issue 18 items 1 and 4)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import genchi
from genchi.core.logs import JsonLineFormatter

ROOT = Path(__file__).resolve().parents[2]


def test_health_says_ok_with_counts_only(client, db):
    response = client.get("/health/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body == {
        "status": "ok",
        "version": genchi.__version__,
        "database": "ok",
        "migrations": "ok",
        "jobs": body["jobs"],
        "tasks_given_up": 0,
    }
    # The unit tests run jobs at once (no queue); a database queue reports counts.
    assert body["jobs"] is None or set(body["jobs"]) == {"waiting", "running"}


def test_health_is_503_when_the_database_is_unreachable(client, db, monkeypatch):
    from django.db import DatabaseError

    from genchi.web import views

    def unreachable():
        raise DatabaseError("down")

    monkeypatch.setattr(views, "pending_migrations", unreachable)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "unreachable"


def test_a_log_line_is_one_json_object_without_the_query_string(rf, db):
    from genchi.core.logs import RequestLogMiddleware

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("genchi.requests")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        request = rf.get("/cases/?q=山田太郎")
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
        RequestLogMiddleware(lambda r: __import__("django").http.HttpResponse(status=204))(request)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    line = JsonLineFormatter().format(records[0])
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["path"] == "/cases/" and parsed["status"] == 204 and parsed["method"] == "GET"
    assert parsed["level"] == "info" and parsed["logger"] == "genchi.requests"
    assert "山田" not in line and parsed["user_id"] is None


def test_genchi_version_is_ours_and_matches_the_package():
    result = subprocess.run(
        [sys.executable, "-m", "genchi", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0
    assert result.stdout.startswith(f"Genchi {genchi.__version__} (Django ")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{genchi.__version__}"' in pyproject


def test_the_footer_shows_the_version(client, db):
    assert f"Genchi {genchi.__version__}" in client.get("/signin/").content.decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_genchi_serve_in_production_serves_pages_and_hashed_static_then_stops(tmp_path):
    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
        "GENCHI_PRODUCTION": "1",
        "GENCHI_SSL_REDIRECT": "0",
        "GENCHI_ALLOWED_HOSTS": "127.0.0.1",
        "GENCHI_SECRET_KEY": "serve-test-" + "x" * 50,
    }
    env.pop("DATABASE_URL", None)
    genchi_cmd = [sys.executable, "-m", "genchi"]
    not_migrated = subprocess.run(
        [*genchi_cmd, "serve", "--bind", "127.0.0.1:1"], env=env, capture_output=True, text=True
    )
    assert not_migrated.returncode == 1 and "genchi migrate" in not_migrated.stderr
    subprocess.run([*genchi_cmd, "migrate", "-v0"], env=env, check=True)
    port = _free_port()
    server = subprocess.Popen(
        [*genchi_cmd, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status, _headers, body = _get(f"http://127.0.0.1:{port}/health/")
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200, "the server did not answer"
        assert json.loads(body)["status"] == "ok"
        status, _headers, page = _get(f"http://127.0.0.1:{port}/signin/")
        assert status == 200
        css = re.search(r"/static/genchi/genchi\.[0-9a-f]{12}\.css", page.decode()).group(0)
        status, headers, _css = _get(f"http://127.0.0.1:{port}{css}")
        assert status == 200 and "immutable" in headers["Cache-Control"]
        # Everything collected into the data folder is as private as the rest of it.
        static = tmp_path / "data" / "static"
        assert all(p.stat().st_mode & 0o077 == 0 for p in static.rglob("*"))
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("{")]
    requests = [json.loads(line) for line in lines if '"genchi.requests"' in line]
    assert any(r["path"] == "/health/" and r["status"] == 200 for r in requests)
    assert "ジョブのワーカーを停止しました。" in output


def test_health_names_no_queue_for_another_job_backend(settings):
    from genchi.jobs.selectors import queue_counts

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.rq.RQBackend"}}
    assert queue_counts() is None

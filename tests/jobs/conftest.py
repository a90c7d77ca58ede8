"""Workers as real processes: `genchi worker` against this test's own database.

A worker test is transactional (what it writes is committed, so another process sees
it) and runs on the database pytest-django made for this test session: a file for
SQLite (tests/settings.py), the test database on PostgreSQL. The worker shares the
test's data folder (keys, files) and beats fast, so the tests stay short.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_started(self, timeout: float = 30) -> None:
        wait_for(lambda: "Starting worker" in self.output(), timeout, self.output)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def wait_for(condition: Callable[[], object], timeout: float, why=lambda: "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s\n{why()}")


@pytest.fixture
def job_backend(_audit_log_flushable, transactional_db, settings, tmp_path):
    """This process enqueues into the database backend, as the web does."""
    settings.TASKS = DATABASE_BACKEND
    settings.GENCHI_JOBS_ENQUEUE_ON_COMMIT = True
    settings.GENCHI_JOB_STALE_AFTER_SECONDS = 1.0
    settings.DATA_DIR = tmp_path
    return settings


@pytest.fixture
def start_worker(job_backend, tmp_path):
    started: list[Worker] = []

    def start(name: str = "w") -> Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "GENCHI_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
            "GENCHI_DATA_DIR": str(tmp_path),  # keys and files: the same as this test's
            "GENCHI_JOB_HEARTBEAT_SECONDS": "0.05",
            "PYTHONPATH": str(ROOT),
        }
        log = tmp_path / f"worker-{name}-{len(started)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "genchi",
                    "worker",
                    "--interval",
                    "0.05",
                    "--worker-id",
                    f"{name}-{len(started)}",
                ],  # fmt: skip
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()

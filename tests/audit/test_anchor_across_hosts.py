"""Several servers on several hosts write the audit log's anchor file on shared storage
(issue 18 item 2). On NFS an O_APPEND write is not atomic across clients: each writes at
the end of the file as it last saw it. The anchor's lock in the database keeps their
lines apart; these tests stand such an append in for the real one."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connection

from genchi.audit import anchor, chain
from genchi.core import locks

needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="the lock across hosts is PostgreSQL's (SQLite is one host's file)",
)


def _append_as_an_nfs_client(path, line: str) -> int:
    """Write at the end of the file as this client saw it a moment ago (no O_APPEND)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    end = os.fstat(fd).st_size
    time.sleep(0.005)  # another client's line may land meanwhile
    os.pwrite(fd, line.encode("ascii"), end)
    return fd


@needs_postgres
def test_concurrent_writers_on_a_non_atomic_append_keep_every_anchor_line(
    _audit_log_flushable, transactional_db, monkeypatch
):
    monkeypatch.setattr(anchor, "_append", _append_as_an_nfs_client)
    chain.record("test.first")  # the key file exists before the writers start
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                chain.record("test.event", object_type="thing", object_id=f"{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    result = chain.verify()
    assert result.ok, [p.text for p in result.problems]
    assert result.count == 33 and result.checked["anchor"] == 33


@needs_postgres
def test_the_anchor_is_written_holding_its_lock(
    _audit_log_flushable, transactional_db, monkeypatch
):
    held: list[bool] = []
    real = anchor._append

    def append(path, line):
        held.append(locks.held_here(anchor.ANCHOR_LOCK))
        return real(path, line)

    monkeypatch.setattr(anchor, "_append", append)
    chain.record("test.event")
    chain.record("package.exported", object_id="p1")  # a head and a checkpoint
    assert held == [True, True, True]
    assert not locks.held_here(anchor.ANCHOR_LOCK)

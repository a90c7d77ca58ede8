"""Locks that hold across every process on every host of one installation.

Several web servers and workers, on one host or several, share one database and one data
folder (docs/deploy.md, "several servers"). What must happen one at a time is locked
in the database, never with a file lock (fcntl locks do not hold across NFS clients):

- `transaction_lock(name, *ids)`: until the current transaction ends
  (`pg_advisory_xact_lock`). For what the transaction itself writes, e.g. the next
  number in a series.
- `session_lock(name, *ids)`: for the block (`pg_advisory_lock` … `pg_advisory_unlock`),
  transaction or not. For work outside the database that must not interleave, e.g. an
  append to the audit log's anchor file or a master-key rotation (file and rows).

On SQLite the database is a file of one host: `transaction_lock` adds nothing to its
IMMEDIATE transactions (one writer at a time), and `session_lock` is an exclusive
`flock` on a file under `<data>/locks/`, which holds between the processes of that host.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

# This thread's flocks (SQLite): a block may take a lock it already holds.
_flocks = threading.local()


def lock_id(name: str, *ids: int) -> int:
    """A stable signed 64-bit key for the lock `name` of `ids` (the same on every host)."""
    text = ":".join([name, *(str(i) for i in ids)]).encode()
    return int.from_bytes(
        hashlib.sha256(b"genchi-lock\x00" + text).digest()[:8], "big", signed=True
    )


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def transaction_lock(name: str, *ids: int) -> None:
    """Wait for, then hold until the transaction ends, the lock `name` of `ids`."""
    if not connection.in_atomic_block:
        raise RuntimeError("transaction_lock は transaction.atomic() の中で使います")
    if _postgres():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id(name, *ids)])


def lock_dir() -> Path:
    return Path(settings.DATA_DIR) / "locks"


@contextmanager
def session_lock(name: str, *ids: int) -> Iterator[None]:
    """Hold the lock `name` of `ids` for the block, in or out of a transaction."""
    if _postgres():
        key = lock_id(name, *ids)
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    key = lock_id(name, *ids)
    held = _flocks.__dict__.setdefault("held", {})
    if key in held:  # taken again inside its own block (PostgreSQL's locks nest too)
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / f"{key & 0xFFFFFFFFFFFFFFFF:016x}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held[key] = 1
        yield
    finally:
        held.pop(key, None)
        os.close(fd)  # closing releases the flock


def held_here(name: str, *ids: int) -> bool:
    """Whether this database session holds the lock now (PostgreSQL; for tests and checks)."""
    if not _postgres():
        return False
    key = lock_id(name, *ids) & 0xFFFFFFFFFFFFFFFF
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND classid::bigint = %s AND objid::bigint = %s"
            " AND objsubid = 1",
            [key >> 32, key & 0xFFFFFFFF],
        )
        return cur.fetchone()[0] > 0

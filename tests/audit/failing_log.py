"""Making audit entries fail below `record()`, and snapshots of what a call left behind."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection
from django.db.backends.utils import CursorWrapper

from genchi.audit.models import AuditEntry


class AuditEntryFailed(DatabaseError):
    """The audit entry's INSERT, refused by the test."""


class FailingEntries:
    """Makes the `fail_at`-th INSERT into the audit table (any thread) raise."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.attempts = 0
        self.failed = False
        self._lock = threading.Lock()
        self._table = AuditEntry._meta.db_table

    def check(self, sql: str) -> None:
        if not (sql.lstrip()[:6].upper() == "INSERT" and self._table in sql):
            return
        with self._lock:
            self.attempts += 1
            if self.attempts == self.fail_at:
                self.failed = True
                raise AuditEntryFailed("the audit entry could not be written (test)")


@contextmanager
def failing_entries(monkeypatch, fail_at: int) -> Iterator[FailingEntries]:
    failing = FailingEntries(fail_at)
    execute, executemany = CursorWrapper.execute, CursorWrapper.executemany

    def checked_execute(self, sql, params=None):
        failing.check(str(sql))
        return execute(self, sql, params)

    def checked_executemany(self, sql, param_list):
        failing.check(str(sql))
        return executemany(self, sql, param_list)

    with monkeypatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", checked_execute)
        patch.setattr(CursorWrapper, "executemany", checked_executemany)
        yield failing


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def database_snapshot() -> dict[str, tuple[int, str]]:
    """(row count, checksum of the sorted rows) of every table."""
    snapshot = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows = sorted(repr(tuple(_plain(v) for v in row)) for row in cursor.fetchall())
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            snapshot[table] = (len(rows), digest)
    return snapshot


def files_snapshot(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() or path.is_symlink()
    }

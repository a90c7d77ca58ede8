"""Two servers creating a contract's batches at the same moment give them different
numbers (issue 18 item 2): the series is locked in the database for the transaction."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from genchi.intake import services
from genchi.intake.models import Batch

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="writers at once need PostgreSQL; SQLite's IMMEDIATE transactions take turns",
)


def test_batches_created_at_once_take_distinct_numbers(
    _audit_log_flushable, transactional_db, contract, monkeypatch
):
    manager = type(Batch.objects)
    real_create = manager.create

    def slow_create(self, **fields):
        time.sleep(0.05)  # both writers have read the last number by now, unless locked
        return real_create(self, **fields)

    monkeypatch.setattr(manager, "create", slow_create)
    made: list[int] = []
    failures: list[BaseException] = []

    def create() -> None:
        try:
            made.append(services.create_batch(contract, title="同時").number)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sorted(made) == [1, 2, 3, 4]

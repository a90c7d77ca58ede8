"""Planner statistics for SQLite.

SQLite chooses between its indexes from `sqlite_stat1`, which only `ANALYZE` writes; with
none it assumes every index is selective. On a large log or case table that picks the
wrong plan: the audit page's "entries of our contracts, newest first" read 100,000 rows
through the contract index and sorted them (1 s) instead of walking the log backwards
from its head (3 ms). The statistics are refreshed where a table has just grown a lot
(after an import, in the log's tamper-check job). A full ANALYZE takes about 0.3 s at
100,000 cases and 100,000 entries; a sampled one (`analysis_limit`) reads only the
beginning of each index, where the log's first contract is rare, and misjudged the log's
contract index as selective. PostgreSQL keeps its own (autovacuum).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections


def refresh_statistics(using: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit=0")  # the whole of each index (see above)
        cursor.execute("ANALYZE")

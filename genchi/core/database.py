"""Questions about the database that the server asks before and while serving."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def pending_migrations() -> int:
    """How many migrations the database still lacks (0 when it is up to date)."""
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))

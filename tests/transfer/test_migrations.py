"""The package digest was stored as `sha256`; its rename to `digest` keeps every value."""

from __future__ import annotations

import pytest

from tests.scratch_db import (
    BEFORE_RENAMES,
    column,
    migrate,
    migrate_to_latest,
    rows_before_renames,
    scratch_database,
)


@pytest.mark.django_db
def test_the_digest_keeps_its_value_under_its_new_name(tmp_path, django_db_blocker):
    with django_db_blocker.unblock(), scratch_database(tmp_path / "m.sqlite3") as alias:
        made = rows_before_renames(migrate(alias, BEFORE_RENAMES), alias)
        migrate_to_latest(alias)
        for table in ("transfer_package", "transfer_handoverslip"):
            assert column(alias, table, "digest", made["ids"][table]) == made["digest"]

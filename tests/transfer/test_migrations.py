"""The package digest was stored as `sha256`; its rename to `digest` keeps every value."""

from __future__ import annotations

import pytest

from tests import scratch_db


@pytest.mark.django_db
def test_the_digest_keeps_its_value_under_its_new_name(tmp_path, django_db_blocker):
    with django_db_blocker.unblock(), scratch_db.database(tmp_path / "m.sqlite3") as alias:
        made = scratch_db.rows_before_renames(alias)
        scratch_db.migrate_to_latest(alias)
        for table in ("transfer_package", "transfer_handoverslip"):
            assert scratch_db.column(alias, table, "digest", made["ids"][table]) == made["digest"]

"""Upgrading: every password in use was given by an administrator (nobody could change
theirs), so accounts migration 0003 makes everyone choose their own at the next sign-in."""

from __future__ import annotations

import pytest

from tests import scratch_db


@pytest.mark.django_db
def test_every_existing_account_must_choose_its_own_password(tmp_path, django_db_blocker):
    with django_db_blocker.unblock(), scratch_db.database(tmp_path / "m.sqlite3") as alias:
        before = scratch_db.migrate(alias, [("accounts", "0002_initial")])
        person = (
            before.get_model("accounts.User")
            .objects.using(alias)
            .create(username="w-staff", password="!")
        )
        after = scratch_db.migrate(alias, [("accounts", "0003_signin_hardening")])
        migrated = after.get_model("accounts.User").objects.using(alias).get(pk=person.pk)
        assert migrated.must_change_password
        assert not migrated.second_factor_reset_unseen

"""Servers on several hosts share one keyring (issue 18 item 2): each process caches the
keys it unwrapped, and a key destroyed (or a master key rotated) by another process is
not used here from the next request on, nor later than GENCHI_KEY_RECHECK_SECONDS in a
long job. The other process is played here by changing the database behind this
process's caches, as a server on another host would."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - named by the skipif conditions
from django.utils import timezone

from genchi import vault
from genchi.core import locks
from genchi.vault import keys
from genchi.vault.models import DataKey

pytestmark = pytest.mark.django_db


def _destroyed_elsewhere(scope) -> None:
    """What `destroy_keys` on another host commits; this process's cache is not told."""
    DataKey.objects.filter(
        organisation_id=scope.organisation_id, contract_id=scope.contract_id
    ).update(wrapped_key=b"", destroyed_at=timezone.now())
    keys._bump_generation()


def test_a_key_destroyed_by_another_host_is_refused_from_the_next_request(
    ward_scope, settings, client
):
    settings.GENCHI_KEY_RECHECK_SECONDS = 60
    blob = vault.encrypt(ward_scope, "t:1", b"secret")
    assert vault.decrypt(ward_scope, "t:1", blob) == b"secret"  # the key is cached here now
    _destroyed_elsewhere(ward_scope)
    assert vault.decrypt(ward_scope, "t:1", blob) == b"secret"  # until the next request
    assert client.get("/health/").status_code == 200  # the next request, on this host
    with pytest.raises(vault.KeyUnavailable):
        vault.decrypt(ward_scope, "t:1", blob)
    with pytest.raises(vault.KeyUnavailable):
        keys.current_key(ward_scope)


def test_a_long_job_stops_using_a_destroyed_key_within_the_recheck_interval(ward_scope, settings):
    blob = vault.encrypt(ward_scope, "t:2", b"secret")
    settings.GENCHI_KEY_RECHECK_SECONDS = 0  # the interval has passed
    assert vault.decrypt(ward_scope, "t:2", blob) == b"secret"
    _destroyed_elsewhere(ward_scope)
    with pytest.raises(vault.KeyUnavailable):
        vault.decrypt(ward_scope, "t:2", blob)


def test_a_cached_key_is_used_without_a_query_between_checks(
    ward_scope, settings, django_assert_num_queries
):
    settings.GENCHI_KEY_RECHECK_SECONDS = 60
    blob = vault.encrypt(ward_scope, "t:3", b"secret")
    vault.decrypt(ward_scope, "t:3", blob)
    with django_assert_num_queries(0):
        for _ in range(100):
            vault.decrypt(ward_scope, "t:3", blob)
    keys.expire_checks()  # a request starts (request_started)
    with django_assert_num_queries(1):  # the generation, once for the request
        for _ in range(100):
            vault.decrypt(ward_scope, "t:3", blob)


def test_after_another_host_rotates_new_keys_are_wrapped_under_the_new_master(
    ward_scope, contractor_scope
):
    vault.encrypt(ward_scope, "t:4", b"secret")
    before = keys.current_master_key()
    cached = (keys._master, keys._generation, keys._checked_at)
    _old, new_id, _count = keys.rotate_master_key()  # "another host"
    keys._master, keys._generation, keys._checked_at = cached  # this host was not told
    keys.expire_checks()  # its next request
    row = keys.create_data_key(contractor_scope)
    assert row.master_key_id == new_id != before.key_id
    blob = vault.encrypt(contractor_scope, "t:5", b"more")
    keys.clear_cache()
    assert vault.decrypt(contractor_scope, "t:5", blob) == b"more"


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the lock across hosts is PostgreSQL's"
)
def test_a_rotation_holds_the_master_lock_across_hosts(ward_scope):
    vault.encrypt(ward_scope, "t:6", b"secret")
    seen: list[bool] = []

    def rewrapper(old, new) -> int:
        seen.append(locks.held_here(keys.MASTER_LOCK))
        return 0

    keys.master_key_rewrappers.append(rewrapper)
    try:
        keys.rotate_master_key()
    finally:
        keys.master_key_rewrappers.remove(rewrapper)
    assert seen == [True]


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the lock across hosts is PostgreSQL's"
)
def test_a_new_data_key_waits_for_no_rotation_and_holds_one_off_until_it_commits(
    ward_scope, contractor_scope
):
    vault.encrypt(ward_scope, "t:7", b"secret")
    keys.create_data_key(contractor_scope)  # inside this test's transaction
    assert locks.held_here(keys.MASTER_LOCK)  # held until that transaction ends

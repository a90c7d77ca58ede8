"""What the database holds of sign-in is useless to someone who reads it: sessions are
stored under a hash of their key, second-factor seeds encrypted by the vault."""

import base64

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, connections
from django.test import Client
from django_otp.oath import totp

from genchi.accounts.models import Role, TOTPDevice
from genchi.accounts.seeds import open_seed
from tests import scratch_db
from tests.conftest import PASSWORD, make_person, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(ward):
    return make_person("auditor", ward, Role.WARD_AUDITOR)


def test_a_session_key_read_from_the_database_opens_nothing(auditor):
    client = signed_in_client(auditor)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/audit/").status_code == 200

    rows = list(Session.objects.all())
    assert rows and all(row.session_key != cookie for row in rows)
    for row in rows:
        thief = Client()
        thief.cookies[settings.SESSION_COOKIE_NAME] = row.session_key
        response = thief.get("/audit/")
        assert response.status_code == 302 and "/signin/" in response["Location"]
    # The browser's own cookie still works, and signing out removes its row.
    assert client.get("/audit/").status_code == 200
    client.post("/signout/")
    assert not Session.objects.filter(pk__in=[r.pk for r in rows]).exists()


def _code(seed: bytes) -> str:
    return f"{totp(seed, 30, 0, 6, 0):06d}"


def test_second_factor_seeds_are_stored_encrypted(auditor):
    device = TOTPDevice.objects.get(user=auditor)
    seed = device.bin_key
    assert len(seed) == 20
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_totpdevice")
        stored = [bytes(v) if isinstance(v, memoryview) else v for v in cursor.fetchone()]
    blobs = b"\x00".join(
        v if isinstance(v, bytes) else str(v).encode() for v in stored if v is not None
    )
    for form in (seed, seed.hex().encode(), base64.b32encode(seed).rstrip(b"=")):
        assert form not in blobs
    # Read back through a fresh row, it still makes the codes the person's app shows.
    assert TOTPDevice.objects.get(pk=device.pk).bin_key == seed
    assert signed_in_client(auditor).get("/audit/").status_code == 200


def test_a_seed_copied_to_another_persons_device_opens_nothing(auditor, ward):
    other = make_person("other", ward, Role.WARD_AUDITOR)
    mine = TOTPDevice.objects.get(user=auditor)
    TOTPDevice.objects.filter(user=other).update(sealed_key=bytes(mine.sealed_key))

    client = Client()
    client.post("/signin/", {"username": "other", "password": PASSWORD})
    response = client.post("/signin/second-factor/", {"code": _code(mine.bin_key)})
    assert response.status_code == 401
    assert "確認コードが違う" in response.content.decode()
    assert client.get("/audit/").status_code == 302


def test_the_migration_moves_plain_seeds_into_the_vault(tmp_path, django_db_blocker, ward):
    """django-otp's table held seeds in plain: they move, encrypted, and its rows go."""
    seed = bytes(range(20))
    scratch = scratch_db.database(tmp_path / "scratch.sqlite3")
    with django_db_blocker.unblock(), scratch as alias:
        old = scratch_db.migrate(
            alias, [("accounts", "0002_initial"), ("vault", "0003_data_key_organisation_required")]
        )
        ward = (
            old.get_model("parties.Organisation")
            .objects.using(alias)
            # The migration encrypts through the vault, which keeps its keys on the default
            # connection (where a real migration runs): the scratch ward is the test
            # database's ward, so the key it makes there names an organisation that exists.
            .create(pk=ward.pk, code="w", name="区", kind="ward")
        )
        person = (
            old.get_model("accounts.User")
            .objects.using(alias)
            .create(username="w-staff", password="!", organisation=ward)
        )
        with connections[alias].cursor() as cursor:
            cursor.execute(OLD_TABLE_SQL)
            cursor.execute(
                "INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, step, t0,"
                " digits, tolerance, drift, last_t, throttling_failure_count, created_at)"
                " VALUES (%s, 'app', 1, %s, 30, 0, 6, 1, 0, 41, 0, '2026-06-01 09:00:00+00:00')",
                [person.pk, seed.hex()],
            )
        new = scratch_db.migrate(alias, [("accounts", "0004_totp_seeds_sealed")])
        device = new.get_model("accounts.TOTPDevice").objects.using(alias).get()
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM otp_totp_totpdevice")
            assert cursor.fetchone() == (0,)
    assert (device.user_id, device.name, device.confirmed, device.last_t) == (
        person.pk,
        "app",
        True,
        41,
    )
    assert seed not in bytes(device.sealed_key) and seed.hex().encode() not in bytes(
        device.sealed_key
    )
    assert open_seed(person.pk, ward.pk, bytes(device.sealed_key)) == seed


OLD_TABLE_SQL = """
CREATE TABLE otp_totp_totpdevice (
    id integer PRIMARY KEY AUTOINCREMENT, user_id bigint NOT NULL, name varchar(64) NOT NULL,
    confirmed bool NOT NULL, key varchar(80) NOT NULL, step smallint NOT NULL,
    t0 bigint NOT NULL, digits smallint NOT NULL, tolerance smallint NOT NULL,
    drift smallint NOT NULL, last_t bigint NOT NULL, throttling_failure_timestamp datetime NULL,
    throttling_failure_count integer NOT NULL, created_at datetime NULL, last_used_at datetime NULL
)
"""

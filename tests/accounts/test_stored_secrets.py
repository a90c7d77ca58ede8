"""What the database holds of sign-in is useless to someone who reads it: sessions are
stored under a hash of their key, second-factor seeds encrypted by the vault."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from genchi.accounts.models import Role
from tests.conftest import make_person, signed_in_client

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

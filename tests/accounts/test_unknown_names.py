"""A name without an account answers exactly like a real one (no enumeration): the same
message, the same lockout after the same number of failures, the same password hashing
(C-S1.3). No user row is made for it, and the typed name is not stored in the counter."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from django.test import Client

from genchi.accounts.models import Role, UnknownNameCounter, User
from genchi.audit.models import AuditEntry
from tests.conftest import PASSWORD, make_person
from tests.hashers import FastArgon2PasswordHasher

pytestmark = pytest.mark.django_db


@pytest.fixture
def hashing(monkeypatch) -> list[str]:
    """What the password hasher was asked to do, in order."""
    done: list[str] = []
    verify, encode = FastArgon2PasswordHasher.verify, FastArgon2PasswordHasher.encode

    def counted(name, original):
        def wrapper(self, *args, **kwargs):
            done.append(name)
            return original(self, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(FastArgon2PasswordHasher, "verify", counted("verify", verify))
    monkeypatch.setattr(FastArgon2PasswordHasher, "encode", counted("encode", encode))
    return done


def _answers(username: str, tries: int) -> list[tuple[int, str]]:
    client = Client()
    answers = []
    for _ in range(tries):
        response = client.post("/signin/", {"username": username, "password": "not this one"})
        body = response.content.decode()
        error = re.search(r'<p class="notice error" role="alert">([^<]*)</p>', body)
        # The time a lock ends may differ by a minute between the two runs.
        answers.append((response.status_code, re.sub(r"\d\d:\d\d", "HH:MM", error.group(1))))
    return answers


def test_unknown_and_real_names_answer_the_same_and_lock_the_same(ward, settings):
    make_person("real-person", ward, Role.WARD_STAFF)
    users_before = User.objects.count()
    tries = settings.GENCHI_LOCKOUT_THRESHOLD + 2
    real, unknown = _answers("real-person", tries), _answers("nobody-here", tries)
    assert real == unknown
    assert real[0] == (401, "ユーザー名またはパスワードが違います。")
    locked = settings.GENCHI_LOCKOUT_THRESHOLD - 1
    assert all("HH:MM までロックされています" in text for _status, text in real[locked:])
    assert all("違います" in text for _status, text in real[:locked])
    assert User.objects.count() == users_before  # no account made for the unknown name
    counter = UnknownNameCounter.objects.get()
    assert counter.locked_until is not None
    # Only a hash of the name under the installation's secret is kept, not one anybody
    # could compute from a list of names.
    assert re.fullmatch(r"[0-9a-f]{64}", counter.name_hash)
    assert counter.name_hash != hashlib.sha256(b"nobody-here").hexdigest()
    # The right password of the real person is refused while locked, like anything else.
    response = Client().post("/signin/", {"username": "real-person", "password": PASSWORD})
    assert response.status_code == 401 and "ロックされています" in response.content.decode()


def test_unknown_names_cost_the_same_password_hashing(ward, hashing):
    make_person("real-person", ward, Role.WARD_STAFF)
    hashing.clear()
    Client().post("/signin/", {"username": "real-person", "password": "not this one"})
    real = list(hashing)
    hashing.clear()
    Client().post("/signin/", {"username": "nobody-here", "password": "not this one"})
    unknown = list(hashing)
    # One Argon2 computation each, with the same parameters (the default hasher).
    assert real == ["verify"] and unknown == ["encode"]


def test_a_locked_name_costs_no_hashing_whether_it_exists_or_not(ward, settings, hashing):
    make_person("real-person", ward, Role.WARD_STAFF)
    for name in ("real-person", "nobody-here"):
        _answers(name, settings.GENCHI_LOCKOUT_THRESHOLD)
        hashing.clear()
        _answers(name, 1)
        assert hashing == [], name


def test_the_log_keeps_no_typed_unknown_name():
    client = Client()
    """People type passwords into the name field: the log names an unknown name only by a
    keyed hash, the same for the same name, so failures can still be grouped."""
    typed = "my-secret-password-2026"
    for _ in range(2):
        client.post("/signin/", {"username": typed, "password": "wrong"})
    entries = AuditEntry.objects.filter(action="signin.failed")
    assert entries.count() == 2
    assert all(typed not in json.dumps(e.detail) and typed not in e.actor for e in entries)
    assert len({e.detail["unknown_name"] for e in entries}) == 1

"""Sign-in under concurrent requests (C-S1.3): requests from many threads at the same
instant against the live test server, on SQLite and on PostgreSQL.

The password check and the code check are slowed down here, so that every request of a
burst is inside the server at the same time: before the fix, all 20 wrong passwords were
checked and a right one among them signed in, and one code sent three times opened three
sessions."""

from __future__ import annotations

import threading
import time

import pytest
from pytest_django.live_server_helper import LiveServer

from genchi.accounts import services
from genchi.accounts.models import Role, TOTPDevice, User
from genchi.audit.models import AuditEntry
from tests.accounts.concurrent_http import WebClient, all_at_once
from tests.conftest import PASSWORD, current_code, make_person
from tests.hashers import FastArgon2PasswordHasher


@pytest.fixture
def live_site(_audit_log_flushable, transactional_db):
    """The test server in a thread of its own, each request in a thread with its own
    database connection. Transactional, so it sees what the test commits; set up after
    the audit log's triggers are lifted, so the flush that ends the test can empty the log
    (pytest-django's own `live_server` fixture would be set up before them)."""
    server = LiveServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def person(ward):
    return make_person("burst-target", ward, Role.WARD_STAFF)


@pytest.fixture
def slow_password_checks(monkeypatch) -> list[str]:
    """Every password the server checks (Argon2 verify, or hash for an unknown name), each
    made to take 0.3 s, as a production work factor would."""
    checked: list[str] = []
    lock = threading.Lock()
    verify, encode = FastArgon2PasswordHasher.verify, FastArgon2PasswordHasher.encode

    def slow(name, original):
        def wrapper(self, password, *args, **kwargs):
            with lock:
                checked.append(password)
            time.sleep(0.3)
            return original(self, password, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(FastArgon2PasswordHasher, "verify", slow("verify", verify))
    monkeypatch.setattr(FastArgon2PasswordHasher, "encode", slow("encode", encode))
    return checked


def test_a_burst_of_wrong_passwords_checks_only_the_threshold_and_signs_nobody_in(
    live_site, person, settings, slow_password_checks
):
    threshold = settings.GENCHI_LOCKOUT_THRESHOLD
    clients = [WebClient(live_site.url) for _ in range(21)]
    tokens = [client.form_token("/signin/") for client in clients]
    passwords = [f"wrong-password-{i:02d}" for i in range(20)] + [PASSWORD]
    answers = all_at_once(
        [
            lambda c=client, t=token, p=password: c.post(
                "/signin/", {"username": person.username, "password": p}, token=t
            )
            for client, token, password in zip(clients, tokens, passwords, strict=True)
        ]
    )
    wrong, right = answers[:20], answers[20]
    # No more wrong passwords than the threshold were checked; the others were refused
    # unchecked. (A right one checked beside them gives its place back.)
    assert len([p for p in slow_password_checks if p != PASSWORD]) <= threshold
    assert all(a.status == 401 for a in wrong)
    assert sum("ロックされています" in a.body for a in wrong) >= 20 - threshold
    person.refresh_from_db()
    failures = AuditEntry.objects.filter(action="signin.failed", object_id=str(person.pk))
    assert failures.count() <= threshold
    assert AuditEntry.objects.filter(action="signin.locked").count() <= 1
    if right.status == 401:
        assert "ロックされています" in right.body
        return
    # The right password was one of the tries the threshold allows and passed the password
    # step. If failures beside it locked the account, the second step refuses it; if not,
    # fewer failures than the threshold were made, and signing in is what the policy allows.
    assert right.status == 302
    token = clients[20].form_token("/signin/second-factor/")
    finish = clients[20].post("/signin/second-factor/", {"code": current_code(person)}, token=token)
    if person.locked_until is not None:
        assert finish.status == 302 and finish.location == "/signin/"
        assert not AuditEntry.objects.filter(action="signin.success").exists()
    else:
        assert failures.count() < threshold
        assert finish.status == 302 and finish.location == "/"


def test_the_fifth_failure_locks_the_right_password_checked_beside_it(db, person, settings):
    """The interleaving that let a right password in: it is being checked (slowly) when
    the fifth wrong one arrives and fails. The failure locks the account, and the right
    password, settling after it, is refused with the rest. Driven step by step: the
    wrong try runs inside the hasher while the right one is being checked."""
    threshold = settings.GENCHI_LOCKOUT_THRESHOLD
    User.objects.filter(pk=person.pk).update(failed_sign_ins=threshold - 2)
    beside: list = []
    verify = FastArgon2PasswordHasher.verify

    def verify_with_a_failure_beside(self, password, encoded):
        if password == PASSWORD and not beside:
            beside.append(services.check_password(None, person.username, "wrong", ip="10.0.0.2"))
        return verify(self, password, encoded)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FastArgon2PasswordHasher, "verify", verify_with_a_failure_beside)
        right = services.check_password(None, person.username, PASSWORD, ip="10.0.0.1")
    assert beside[0].locked and "ロックされています" in beside[0].message
    assert right.user is None and right.locked and "ロックされています" in right.message
    person.refresh_from_db()
    assert person.locked_until is not None
    assert [e.action for e in AuditEntry.objects.filter(object_id=str(person.pk))][-3:] == [
        "signin.failed",
        "signin.locked",
        "signin.refused_locked",
    ]


def test_one_code_sent_three_times_at_once_opens_one_session(live_site, person, monkeypatch):
    verify = TOTPDevice.verify_token

    def slow_verify(self, token):
        time.sleep(0.3)
        return verify(self, token)

    monkeypatch.setattr(TOTPDevice, "verify_token", slow_verify)
    clients = [WebClient(live_site.url) for _ in range(3)]
    for client in clients:
        signed = client.post(
            "/signin/",
            {"username": person.username, "password": PASSWORD},
            token=client.form_token("/signin/"),
        )
        assert signed.status == 302 and signed.location == "/signin/second-factor/"
    tokens = [client.form_token("/signin/second-factor/") for client in clients]
    code = current_code(person)
    answers = all_at_once(
        [
            lambda c=client, t=token: c.post("/signin/second-factor/", {"code": code}, token=t)
            for client, token in zip(clients, tokens, strict=True)
        ]
    )
    assert sorted(a.status for a in answers) == [302, 401, 401]
    assert AuditEntry.objects.filter(action="signin.success").count() == 1
    opened = [c for c, a in zip(clients, answers, strict=True) if a.status == 302]
    refused = [c for c, a in zip(clients, answers, strict=True) if a.status == 401]
    assert opened[0].get("/").status == 200
    assert all(c.get("/").status == 302 for c in refused)

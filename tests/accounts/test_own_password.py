"""An administrator never knows a password in use (C-S1.3): the initial password and a
second-factor reset leave the account able only to choose a password of one's own, before
the second factor; people change their password themselves; a reset names who did it and
is shown to the person once."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP, totp

from genchi.accounts.models import Role, TOTPDevice, User
from genchi.audit.models import AuditEntry
from tests.conftest import PASSWORD, make_person, signed_in_client

pytestmark = pytest.mark.django_db

INITIAL = "given by the admin 2026"
OWN = "my very own passphrase 2026"


@pytest.fixture
def admin(ward):
    return make_person("admin", ward, Role.WARD_ADMIN)


def _sign_in(username: str, password: str) -> tuple[Client, object]:
    client = Client()
    return client, client.post("/signin/", {"username": username, "password": password})


def _enrol(client: Client, person: User):
    client.get("/signin/second-factor/")
    device = TOTPDevice.objects.get(user=person, confirmed=False)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    return client.post("/signin/second-factor/", {"code": code})


def test_the_initial_password_opens_only_the_page_that_replaces_it(admin):
    admin_client = signed_in_client(admin)
    made = admin_client.post(
        "/people/",
        {
            "username": "newcomer",
            "full_name": "新人 太郎",
            "role": "ward_staff",
            "password": INITIAL,
        },
    )
    assert made.status_code == 302
    person = User.objects.get(username="newcomer")
    assert person.must_change_password
    assert "本人による設定待ち" in admin_client.get(f"/people/{person.pk}/").content.decode()

    client, signed = _sign_in("newcomer", INITIAL)
    assert signed.status_code == 302 and signed["Location"] == "/signin/new-password/"
    # Nothing else, not even enrolling the second factor, until the password is the person's.
    for path in ("/signin/second-factor/", "/", "/people/", "/account/password/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/signin/new-password/"
    page = client.get("/signin/new-password/").content.decode()
    assert "パスワードの決まり" in page and "12" in page  # the policy is shown
    same = client.post(
        "/signin/new-password/", {"new_password": INITIAL, "new_password_again": INITIAL}
    )
    assert same.status_code == 400 and "今のパスワードと違うもの" in same.content.decode()
    short = client.post(
        "/signin/new-password/", {"new_password": "short", "new_password_again": "short"}
    )
    assert short.status_code == 400 and "12" in short.content.decode()
    chosen = client.post("/signin/new-password/", {"new_password": OWN, "new_password_again": OWN})
    assert chosen.status_code == 302 and chosen["Location"] == "/signin/second-factor/"
    assert _enrol(client, person).status_code == 302
    assert client.get("/").status_code == 200
    # The administrator's password no longer opens the account.
    assert _sign_in("newcomer", INITIAL)[1].status_code == 401
    assert AuditEntry.objects.filter(
        action="password.changed", object_id=str(person.pk), detail__required=True
    ).exists()


def test_a_reset_names_who_did_it_and_the_person_chooses_a_new_password(admin, ward):
    staff = make_person("staff", ward, Role.WARD_STAFF)
    admin_client = signed_in_client(admin)
    assert admin_client.post(f"/people/{staff.pk}/reset-second-factor/").status_code == 302
    staff.refresh_from_db()
    assert staff.second_factor_reset_by == admin and staff.second_factor_reset_by_name == "admin"
    assert staff.second_factor_reset_at is not None and staff.must_change_password
    entry = AuditEntry.objects.get(action="mfa.reset")
    assert entry.actor == "admin" and entry.detail["by"] == "admin"
    assert "本人に未通知" in admin_client.get(f"/people/{staff.pk}/").content.decode()

    client, signed = _sign_in("staff", PASSWORD)
    assert signed["Location"] == "/signin/new-password/"
    at = timezone.localtime(staff.second_factor_reset_at).strftime("%Y-%m-%d %H:%M")
    notice = f"管理者 admin が {at} に二要素認証をリセットしました"
    assert notice in client.get("/signin/new-password/").content.decode()
    assert notice not in client.get("/signin/new-password/").content.decode()  # once
    again, _ = _sign_in("staff", PASSWORD)
    assert notice not in again.get("/signin/new-password/").content.decode()
    # The reset device is gone; the person enrols only after choosing a new password.
    assert client.get("/signin/second-factor/")["Location"] == "/signin/new-password/"
    client.post("/signin/new-password/", {"new_password": OWN, "new_password_again": OWN})
    enrolling = client.get("/signin/second-factor/").content.decode()
    assert "二要素認証の登録" in enrolling
    assert _enrol(client, staff).status_code == 302
    assert AuditEntry.objects.filter(action="mfa.reset_notice_shown").count() == 1


def _second_session(person: User) -> Client:
    """Another signed-in session: the code of the next time step (a code works once)."""
    client, _ = _sign_in(person.username, PASSWORD)
    device = TOTPDevice.objects.get(user=person, confirmed=True)
    # The step after the last accepted one: inside the tolerance whether or not the clock
    # has moved on to the next step since the first session (a fixed offset was flaky).
    after_last = TOTP(device.bin_key, device.step, device.t0, device.digits)
    after_last.time = device.t0 + (max(device.last_t + 1, after_last.t())) * device.step
    code = after_last.token()
    assert client.post("/signin/second-factor/", {"code": f"{code:06d}"}).status_code == 302
    return client


def test_a_signed_in_person_changes_their_own_password(ward):
    person = make_person("staff", ward, Role.WARD_STAFF)
    client, other_session = signed_in_client(person), _second_session(person)
    page = client.get("/account/password/")
    assert page.status_code == 200 and "パスワードの決まり" in page.content.decode()
    assert "パスワード変更" in client.get("/").content.decode()  # reachable from every page
    wrong = client.post(
        "/account/password/",
        {"current_password": "not mine", "new_password": OWN, "new_password_again": OWN},
    )
    assert wrong.status_code == 400 and "今のパスワードが違います" in wrong.content.decode()
    person.refresh_from_db()
    assert person.failed_sign_ins == 1  # a guess through an open session counts
    mismatch = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "new_password": OWN, "new_password_again": OWN + "x"},
    )
    assert mismatch.status_code == 400 and "一致しません" in mismatch.content.decode()
    same = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "new_password": PASSWORD, "new_password_again": PASSWORD},
    )
    assert same.status_code == 400 and "今のパスワードと違うもの" in same.content.decode()
    changed = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "new_password": OWN, "new_password_again": OWN},
    )
    assert changed.status_code == 302 and changed["Location"] == "/"
    assert client.get("/").status_code == 200  # this session goes on
    assert other_session.get("/").status_code == 302  # the other one ended with the old password
    assert _sign_in("staff", PASSWORD)[1].status_code == 401
    fresh, signed = _sign_in("staff", OWN)
    assert signed["Location"] == "/signin/second-factor/"
    assert fresh.get("/signin/second-factor/").status_code == 200


def test_guessing_the_current_password_locks_and_signs_out(ward, settings):
    person = make_person("staff", ward, Role.WARD_STAFF)
    client = signed_in_client(person)
    for _ in range(settings.GENCHI_LOCKOUT_THRESHOLD):
        response = client.post(
            "/account/password/",
            {"current_password": "guess", "new_password": OWN, "new_password_again": OWN},
        )
    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert "ロックされています" in client.get("/signin/").content.decode()
    assert client.get("/").status_code == 302
    person.refresh_from_db()
    assert person.locked_until is not None


def test_a_session_whose_password_must_change_opens_nothing_else(ward):
    person = make_person("staff", ward, Role.WARD_STAFF)
    client = signed_in_client(person)
    User.objects.filter(pk=person.pk).update(must_change_password=True)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/signin/new-password/"
    # A session that did not just type the password may not choose a new one without it.
    response = client.get("/signin/new-password/")
    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert "もう一度サインインしてください" in client.get("/signin/").content.decode()
    assert client.get("/").status_code == 302


def test_a_reset_sends_an_open_session_back_to_the_password(admin, ward):
    staff = make_person("staff", ward, Role.WARD_STAFF)
    open_session = signed_in_client(staff)
    signed_in_client(admin).post(f"/people/{staff.pk}/reset-second-factor/")
    assert open_session.get("/")["Location"] == "/signin/new-password/"
    assert open_session.get("/signin/new-password/")["Location"] == "/signin/"

"""Sign-in: password + TOTP, lockout, replay, enrolment, idle timeout (C-S1.3, C-S2.3)."""

import time

import pytest
from django.test import Client
from django_otp.oath import totp

from genchi.accounts.models import Role, TOTPDevice, User
from genchi.audit.models import AuditEntry
from tests.conftest import PASSWORD, current_code, make_person, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(ward):
    return make_person("admin", ward, Role.WARD_ADMIN)


def actions() -> list[str]:
    return list(AuditEntry.objects.values_list("action", flat=True))


def test_sign_in_page_is_japanese_with_csp(client):
    response = client.get("/signin/")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in body and "サインイン" in body
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "<script>" not in body and "style=" not in body


def test_full_sign_in_then_sign_out(admin):
    client = signed_in_client(admin)
    assert client.get("/").status_code == 200
    assert "signin.success" in actions()
    response = client.post("/signout/")
    assert response.status_code == 302
    assert "signout" in actions()
    assert client.get("/").status_code == 302


def test_password_alone_does_not_open_anything(admin):
    client = Client()
    client.post("/signin/", {"username": "admin", "password": PASSWORD})
    response = client.get("/organisations/")
    assert response.status_code == 302 and response["Location"] == "/signin/second-factor/"


def test_wrong_password_and_unknown_user_get_the_same_message(admin):
    client = Client()
    wrong = client.post("/signin/", {"username": "admin", "password": "nope"})
    unknown = client.post("/signin/", {"username": "nobody", "password": "nope"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "ユーザー名またはパスワードが違います" in response.content.decode()
    assert actions().count("signin.failed") == 2


def test_lockout_after_repeated_failures(admin, settings):
    client = Client()
    for _ in range(settings.GENCHI_LOCKOUT_THRESHOLD):
        response = client.post("/signin/", {"username": "admin", "password": "wrong"})
    assert "ロックされています" in response.content.decode()
    assert "signin.locked" in actions()
    # Even the right password is refused while locked.
    response = client.post("/signin/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 401 and "ロック" in response.content.decode()
    assert "signin.refused_locked" in actions()
    admin.refresh_from_db()
    assert admin.locked_until is not None


def test_administrator_unlocks_and_resets_second_factor(admin, ward):
    staff = make_person("staff", ward, Role.WARD_STAFF)
    User.objects.filter(pk=staff.pk).update(locked_until="2999-01-01T00:00:00Z")
    client = signed_in_client(admin)
    assert client.post(f"/people/{staff.pk}/unlock/").status_code == 302
    staff.refresh_from_db()
    assert staff.locked_until is None
    assert client.post(f"/people/{staff.pk}/reset-second-factor/").status_code == 302
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert {"account.unlocked", "mfa.reset"} <= set(actions())


def test_wrong_and_replayed_codes_are_refused(admin):
    client = Client()
    client.post("/signin/", {"username": "admin", "password": PASSWORD})
    wrong = client.post("/signin/second-factor/", {"code": "000000"})
    assert wrong.status_code == 401 and "確認コードが違う" in wrong.content.decode()
    code = current_code(admin)
    assert client.post("/signin/second-factor/", {"code": code}).status_code == 302
    # A second session replays the very same code: refused.
    other = Client()
    other.post("/signin/", {"username": "admin", "password": PASSWORD})
    replay = other.post("/signin/second-factor/", {"code": code})
    assert replay.status_code == 401
    assert "すでに使われた" in replay.content.decode()


def test_failed_codes_count_towards_lockout(admin, settings):
    client = Client()
    client.post("/signin/", {"username": "admin", "password": PASSWORD})
    for _ in range(settings.GENCHI_LOCKOUT_THRESHOLD):
        response = client.post("/signin/second-factor/", {"code": "000000"})
    assert response.status_code == 302 and response["Location"] == "/signin/"
    admin.refresh_from_db()
    assert admin.locked_until is not None


def test_first_sign_in_enrols_the_second_factor_by_qr_code(ward):
    person = make_person("newbie", ward, Role.WARD_STAFF, device=False)
    client = Client()
    client.post("/signin/", {"username": "newbie", "password": PASSWORD})
    page = client.get("/signin/second-factor/")
    body = page.content.decode()
    assert (
        "二要素認証の登録" in body
        and 'src="data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns%3D' in body
    )
    device = TOTPDevice.objects.get(user=person, confirmed=False)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    assert client.post("/signin/second-factor/", {"code": code}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert "mfa.enrolled" in actions()
    assert client.get("/").status_code == 200


def test_idle_session_expires_with_a_message(admin, settings):
    client = signed_in_client(admin)
    session = client.session
    session["last_seen"] = int(time.time()) - settings.GENCHI_IDLE_TIMEOUT_SECONDS - 5
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/signin/?expired=1"
    assert "一定時間操作がなかった" in client.get(response["Location"]).content.decode()
    assert "session.expired" in actions()


def test_open_redirect_after_sign_in_is_ignored(admin):
    client = Client()
    client.post(
        "/signin/", {"username": "admin", "password": PASSWORD, "next": "https://evil.example/"}
    )
    response = client.post("/signin/second-factor/", {"code": current_code(admin)})
    assert response["Location"] == "/"

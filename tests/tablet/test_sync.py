"""Sign-in at the office and sync down (C-S2.1, C-S2.3, C-S2.4, C-S2.7): signed requests,
the office networks, only the surveyor's assigned cases, the lease, revocation → wipe."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork.selectors import cases_for_tablet
from genchi.parties.models import Designation
from genchi.tablet import services
from genchi.tablet.models import TabletDevice
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(tablet, people):
    response = tablet.sign_in(people[Role.SURVEYOR].username, PASSWORD)
    assert response.status_code == 200, response.content
    return tablet


def test_sign_in_needs_password_and_the_device_key(enrolled, people):
    response = enrolled.sign_in(people[Role.SURVEYOR].username, "wrong password here")
    assert response.status_code == 401
    # the right password, but the request signed by another key
    from tests.tablet.conftest import FakeTablet

    thief = FakeTablet()
    thief.device_id = enrolled.device_id
    response = thief.sign_in(people[Role.SURVEYOR].username, PASSWORD)
    assert response.status_code == 401 and response.json()["reason"] == "signature"
    # another person's right password on this surveyor's device
    response = enrolled.sign_in(people[Role.HANDLER].username, PASSWORD)
    assert response.status_code == 403
    assert "別の調査員" in response.json()["error"]
    assert signed_in(enrolled, people).token
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "tablet.signed_in" in actions and "tablet.signin_refused" in actions


def test_a_refused_sign_in_uses_its_challenge_and_counts(enrolled, people):
    """The refusal is written with the failed try (one transaction, after the password
    was checked): the challenge is used up, the failure counted, both logged."""
    from django.test import RequestFactory

    from genchi.tablet.models import Challenge

    device, surveyor = enrolled.device, people[Role.SURVEYOR]
    challenge = services.new_challenge(device, ip="127.0.0.1")
    with pytest.raises(services.Refused) as refused:
        services.sign_in(
            RequestFactory().post("/"),
            device,
            username=surveyor.username,
            password="wrong password here",
            challenge=challenge.value,
            ip="127.0.0.1",
        )
    assert refused.value.reason == "password"
    assert Challenge.objects.get(pk=challenge.pk).used_at is not None
    surveyor.refresh_from_db()
    assert surveyor.failed_sign_ins == 1
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["signin.failed", "tablet.signin_refused"]


def test_a_challenge_is_used_once(enrolled, people):
    challenge = enrolled.post(
        "/tablet/api/challenge/", {"device": enrolled.device_id}, signed=False
    ).json()["challenge"]
    body = {
        "username": people[Role.SURVEYOR].username,
        "password": PASSWORD,
        "challenge": challenge,
    }
    assert enrolled.post("/tablet/api/signin/", body).status_code == 200
    assert enrolled.post("/tablet/api/signin/", body).status_code == 401


def test_tampered_replayed_or_stale_requests_are_refused(enrolled, people, assigned):
    signed_in(enrolled, people)
    path = "/tablet/api/sync/down/"
    import json

    body = json.dumps({"held": []}).encode()
    headers = enrolled.headers(path, body)
    tampered = json.dumps({"held": ["x"]}).encode()
    response = enrolled.client.post(path, tampered, content_type="application/json", **headers)
    assert response.status_code == 401
    assert (
        enrolled.client.post(path, body, content_type="application/json", **headers).status_code
        == 200
    )
    replay = enrolled.client.post(path, body, content_type="application/json", **headers)
    assert replay.status_code == 401 and replay.json()["reason"] == "replay"
    stale = enrolled.post(path, {"held": []}, when=time.time() - 3600)
    assert stale.status_code == 401 and stale.json()["reason"] == "clock"
    enrolled.token = "not-a-token"
    assert enrolled.sync().json()["reason"] == "session"


def test_sync_brings_only_the_surveyors_assigned_cases(enrolled, people, assigned):
    signed_in(enrolled, people)
    response = enrolled.sync(held=["OLD-1", assigned["mine"][0].case_ref])
    assert response.status_code == 200
    data = response.json()
    refs = sorted(c["ref"] for c in data["cases"])
    assert refs == sorted(c.case_ref for c in assigned["mine"])
    assert assigned["other"].case_ref not in refs
    names = {c["name"] for c in data["cases"]}
    assert names == {"山田 太郎", "佐藤 花子"}
    assert data["drop"] == ["OLD-1"]
    assert data["lease_secret"] and data["lease_until"]
    assert data["idle_lock_seconds"] == 120
    assert response["Cache-Control"] == "no-store"
    device = TabletDevice.objects.get()
    assert device.last_sync_at and device.lease_until
    entry = AuditEntry.objects.get(action="tablet.synced_down")
    assert sorted(entry.detail["refs"]) == refs and entry.actor == people[Role.SURVEYOR].username


def test_a_case_outside_the_assignment_is_refused_and_logged(enrolled, people, assigned):
    signed_in(enrolled, people)
    response = enrolled.sync(wanted=[assigned["other"].case_ref])
    assert response.status_code == 403
    assert "割り当てられていない" in response.json()["error"]
    entry = AuditEntry.objects.get(action="tablet.outside_assignment_refused")
    assert entry.detail["refs"] == [assigned["other"].case_ref]
    response = enrolled.sync(wanted=[assigned["mine"][1].case_ref])
    assert [c["ref"] for c in response.json()["cases"]] == [assigned["mine"][1].case_ref]


def test_tablet_cases_for_every_role(people, contract, assigned):
    expected = {c.case_ref for c in assigned["mine"]}
    for role, person in people.items():
        refs = {c.case_ref for c in cases_for_tablet(person, contract)}
        assert refs == (expected if role == Role.SURVEYOR else set()), role
    other = assigned["other_surveyor"]
    assert {c.case_ref for c in cases_for_tablet(other, contract)} == {assigned["other"].case_ref}


def test_sync_only_from_the_contracts_networks(enrolled, people, assigned, settings):
    signed_in(enrolled, people)
    settings.GENCHI_TABLET_SYNC_NETWORKS = {"c2026": ["10.20.0.0/16"], "*": ["127.0.0.1/32"]}
    response = enrolled.sync()
    assert response.status_code == 403
    assert "事務所のネットワーク" in response.json()["error"]
    entry = AuditEntry.objects.filter(action="tablet.network_refused").last()
    assert entry.detail == {"step": "sync", "ip": "127.0.0.1"}
    enrolled.ip = "10.20.3.4"
    assert enrolled.sync().status_code == 200


def test_revoked_device_is_told_to_wipe(enrolled, people, assigned):
    signed_in(enrolled, people)
    services.revoke(enrolled.device, by=people[Role.MANAGER], reason="盗難")
    response = enrolled.sync()
    assert response.status_code == 410
    assert response.json()["wipe"] is True
    assert AuditEntry.objects.filter(action="tablet.wipe_sent").exists()
    # every later contact too, the sign-in included
    response = enrolled.post("/tablet/api/challenge/", {"device": enrolled.device_id}, signed=False)
    assert response.status_code == 410 and response.json()["wipe"] is True


def test_surveyor_no_longer_designated_is_wiped(enrolled, people, assigned):
    signed_in(enrolled, people)
    Designation.objects.filter(person=people[Role.SURVEYOR]).update(ended_at=timezone.now())
    response = enrolled.sync()
    assert response.status_code == 410 and response.json()["wipe"] is True


def test_lease_ends_at_the_end_of_the_next_working_day():
    tz = timezone.get_current_timezone()
    friday = dt.datetime(2026, 11, 27, 10, 0, tzinfo=tz)
    end = timezone.localtime(services.lease_end(friday))
    assert (end.date(), end.hour, end.minute) == (dt.date(2026, 11, 30), 23, 59)
    tuesday = dt.datetime(2026, 12, 1, 18, 0, tzinfo=tz)
    assert timezone.localtime(services.lease_end(tuesday)).date() == dt.date(2026, 12, 2)


def test_lease_secret_differs_per_device(enrolled, people):
    secret = services.lease_secret(enrolled.device)
    assert secret == services.lease_secret(TabletDevice.objects.get())
    other = TabletDevice(pk=enrolled.device.pk + 1, key_fingerprint="f" * 64)
    assert services.lease_secret(other) != secret


def test_cases_opened_on_the_device_are_logged_once_at_the_next_sync(enrolled, people, assigned):
    signed_in(enrolled, people)
    mine = assigned["mine"][0]
    at = timezone.now() - dt.timedelta(hours=2)
    report = {"id": "ab" * 8, "ref": mine.case_ref, "at": at.isoformat()}
    ahead = {
        "id": "cd" * 8,
        "ref": mine.case_ref,
        "at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
    }
    bad = [{"id": "not hex", "ref": mine.case_ref, "at": at.isoformat()}, "x", {"id": "ef" * 8}]
    response = enrolled.sync(opened=[report, ahead, *bad])
    assert response.status_code == 200 and response.json()["opened_logged"] == 2
    views = AuditEntry.objects.filter(action="survey_case.viewed", detail__view="tablet")
    assert views.count() == 2
    first = views.get(detail__opened_at=at.isoformat())
    assert first.object_id == str(mine.pk) and first.contract_code == mine.contract.code
    assert first.actor == people[Role.SURVEYOR].username
    assert AuditEntry.objects.filter(action="tablet.clock_ahead").count() == 1
    # The answer was lost: the device sends the same reports again; nothing new is logged.
    again = enrolled.sync(opened=[report, ahead])
    assert again.json()["opened_logged"] == 0
    assert views.count() == 2

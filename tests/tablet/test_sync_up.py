"""Sync up (issue 16 item 3, C-S2.4; batched, issue 18): visits and photos from the
device, several in one request, through fieldwork's one visit write path; idempotent,
resumable, signed, refused and logged outside the assignment; the conflict rules of
docs/tablet.md, each tested."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

import pytest

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork import selectors as fieldwork
from genchi.fieldwork import services as fieldwork_services
from genchi.fieldwork.services import assign_cases, record_visit
from genchi.tablet import batch, services
from genchi.tablet.models import Upload, UploadPhoto
from tests.conftest import PASSWORD
from tests.fieldwork.visits import form_data, photo_with_metadata, visit_data

pytestmark = pytest.mark.django_db

SYNC_UP = "/tablet/api/sync/up/"


def ready(tablet, people):
    """Signed in at the office and synced down (the device holds its cases)."""
    response = tablet.sign_in(people[Role.SURVEYOR].username, PASSWORD)
    assert response.status_code == 200, response.content
    assert tablet.sync().status_code == 200
    return tablet


def new_id() -> str:
    return secrets.token_hex(16)


def post_batch(tablet, visits: list[dict], photos: dict | None = None, *, body=None, kind=None):
    """One batch request, signed as the app signs it (over the body's bytes)."""
    encoded, content_type = batch.encode(visits, photos or {})
    body = encoded if body is None else body
    headers = tablet.headers(SYNC_UP, body)
    return tablet.client.post(SYNC_UP, body, content_type=kind or content_type, **headers)


class Visit:
    """A visit as the device keeps it: its id, its case, its fields, its photos."""

    def __init__(self, case_ref: str, photos=(), visit: str = "", arrived=None, **fields):
        self.id = visit or new_id()
        self.pictures = list(photos)
        self.ids = [new_id() for _p in self.pictures]
        self.entry = {
            "visit": self.id,
            "case": case_ref,
            "fields": form_data(**fields),
            "photos": [
                {"id": pid, "sha256": hashlib.sha256(p).hexdigest()}
                for pid, p in zip(self.ids, self.pictures, strict=True)
            ],
        }
        if arrived is not None:
            self.entry["arrived_at"] = arrived.isoformat()

    def photos(self, *which: int) -> dict:
        """Its photos' parts (all, or those at the positions given)."""
        picked = which or range(len(self.ids))
        return {(self.id, self.ids[n]): self.pictures[n] for n in picked}


def send_visit(tablet, case_ref: str, photos=(), visit: str = "", arrived=None, **fields):
    """One visit with all its photos in one request: (its answer, visit id, photo ids)."""
    item = Visit(case_ref, photos, visit, arrived, **fields)
    response = post_batch(tablet, [item.entry], item.photos())
    assert response.status_code == 200, response.content
    [answer] = response.json()["visits"]
    return answer, item.id, item.ids


def answers(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["visits"]


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


def test_visits_and_photos_are_stored_once_and_resume(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    item = Visit(case.case_ref, [photo_with_metadata(seed=0), photo_with_metadata(seed=3)])
    # The request had room for the first photo only: the answer says what is missing.
    [first] = answers(post_batch(tablet, [item.entry], item.photos(0)))
    assert first == {"visit": item.id, "state": "waiting", "missing": [item.ids[1]]}
    # The same request again (its answer was lost): the photo is kept once.
    [again] = answers(post_batch(tablet, [item.entry], item.photos(0)))
    assert again == first and UploadPhoto.objects.count() == 1
    # The next request resumes with what is missing only.
    [done] = answers(post_batch(tablet, [item.entry], item.photos(1)))
    assert done == {"visit": item.id, "state": "recorded"}
    # The office sees the visit, entered from the tablet, with both photos.
    case.refresh_from_db()
    visits = fieldwork.visits_of(case)
    assert [(v.number, v.source, v.by_id) for v in visits] == [
        (1, "tablet", people[Role.SURVEYOR].pk)
    ]
    assert len(visits[0].photos.all()) == 2
    assert case.status == "visited" and case.visit_count == 1
    # Sent again whole: still one visit; nothing of it waits on the server any more.
    [whole] = answers(post_batch(tablet, [item.entry], item.photos()))
    assert whole["state"] == "recorded"
    case.refresh_from_db()
    assert case.visit_count == 1
    upload = Upload.objects.get(client_id=item.id)
    assert upload.sealed == b"" and not upload.photos.exists()
    entry = AuditEntry.objects.filter(action="visit.recorded").get()
    assert entry.actor == people[Role.SURVEYOR].username
    assert "tablet.visit_uploaded" in actions()


def test_several_visits_in_one_request(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    one = Visit(assigned["mine"][0].case_ref, [photo_with_metadata(seed=0)])
    two = Visit(assigned["mine"][1].case_ref, [photo_with_metadata(seed=4)] * 2)
    results = answers(post_batch(tablet, [one.entry, two.entry], one.photos() | two.photos()))
    assert results == [
        {"visit": one.id, "state": "recorded"},
        {"visit": two.id, "state": "recorded"},
    ]
    assert [c.visits.count() for c in assigned["mine"]] == [1, 1]


def test_the_fields_wait_sealed_on_the_server(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    item = Visit(
        assigned["mine"][0].case_ref, [photo_with_metadata()], landlord_name="豊玉管理株式会社"
    )
    assert answers(post_batch(tablet, [item.entry]))[0]["state"] == "waiting"
    upload = Upload.objects.get(client_id=item.id)
    assert "豊玉管理".encode() not in bytes(upload.sealed)
    assert b"landlord" not in bytes(upload.sealed)


def test_a_visit_without_photos_is_recorded_at_once(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    answer, visit, _ids = send_visit(tablet, assigned["mine"][1].case_ref)
    assert answer == {"visit": visit, "state": "recorded"}


def test_sync_up_is_signed_and_needs_the_sign_in(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    item = Visit(assigned["mine"][0].case_ref, [photo_with_metadata()])
    # The signature covers the photos' bytes: one altered after signing is refused whole.
    body, kind = batch.encode([item.entry], item.photos())
    headers = tablet.headers(SYNC_UP, body)
    altered = body.replace(item.pictures[0][-64:], bytes(64))
    response = tablet.client.post(SYNC_UP, altered, content_type=kind, **headers)
    assert response.status_code == 401 and response.json()["reason"] == "signature"
    tablet.token = ""
    response = post_batch(tablet, [item.entry], item.photos())
    assert response.status_code == 401 and response.json()["reason"] == "session"
    from tests.tablet.conftest import FakeTablet

    thief = FakeTablet()
    thief.device_id, thief.token = enrolled.device_id, "x"
    response = post_batch(thief, [item.entry], item.photos())
    assert response.status_code == 401 and response.json()["reason"] == "signature"
    assert not Upload.objects.exists()


def test_a_refused_visit_beside_accepted_ones(enrolled, people, assigned):
    """Each visit is its own unit: one refused, one unreadable and one invalid do not
    lose the visit sent with them."""
    tablet = ready(enrolled, people)
    picture = photo_with_metadata()
    good = Visit(assigned["mine"][0].case_ref, [picture])
    outside = Visit(assigned["other"].case_ref, [photo_with_metadata(seed=2)])
    broken = Visit(assigned["mine"][1].case_ref, visit="not-an-id")
    invalid = Visit(assigned["mine"][1].case_ref, outcome="resident_confirmed")
    results = answers(
        post_batch(
            tablet,
            [outside.entry, broken.entry, invalid.entry, good.entry],
            outside.photos() | good.photos(),
        )
    )
    assert [r["state"] for r in results] == ["refused", "error", "invalid", "recorded"]
    assert results[0]["reason"] == "assignment" and results[0]["message"]
    assert results[1]["reason"] == "client_id" and results[1]["message"]
    assert "outcome" in results[2]["errors"]
    assert assigned["other"].visits.count() == 0
    assert assigned["mine"][0].visits.count() == 1 and assigned["mine"][1].visits.count() == 0
    entry = AuditEntry.objects.filter(action="tablet.outside_assignment_refused").last()
    assert entry.detail["ref"] == assigned["other"].case_ref
    # The answer stays the same when sent again, and nothing is kept of the refused one.
    assert answers(post_batch(tablet, [outside.entry]))[0]["reason"] == "assignment"
    assert Upload.objects.get(client_id=outside.id).sealed == b""
    assert not UploadPhoto.objects.exists()


def test_a_case_reassigned_while_the_visit_was_recorded_is_refused(
    enrolled, people, contract, assigned
):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    assign_cases(contract, [case.case_ref], assigned["other_surveyor"], by=people[Role.MANAGER])
    answer, _visit, _ids = send_visit(tablet, case.case_ref)
    assert answer["reason"] == "reassigned"
    assert "割り当て直され" in answer["message"]
    assert case.visits.count() == 0
    assert AuditEntry.objects.filter(action="tablet.visit_refused").last().detail["reason"] == (
        "reassigned"
    )


def test_a_case_reassigned_before_the_last_photo_is_refused(enrolled, people, contract, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    item = Visit(case.case_ref, [photo_with_metadata()])
    answers(post_batch(tablet, [item.entry]))
    assign_cases(contract, [case.case_ref], assigned["other_surveyor"], by=people[Role.MANAGER])
    [answer] = answers(post_batch(tablet, [item.entry], item.photos()))
    assert answer["state"] == "refused" and answer["reason"] == "reassigned"
    assert case.visits.count() == 0 and not UploadPhoto.objects.exists()


def test_a_finished_case_takes_no_visit(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    fieldwork_services.review_case(case, approve=True, by=people[Role.MANAGER])
    answer, _visit, _ids = send_visit(tablet, case.case_ref)
    assert answer["reason"] == "closed"
    case.refresh_from_db()
    assert case.visit_count == 1 and case.status == "done"


def test_a_visit_entered_at_the_office_meanwhile_is_kept_beside_it(enrolled, people, assigned):
    """Visits are added, never overwritten: the office's entry and the tablet's both stay,
    numbered in the order they reached the server."""
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    record_visit(case, visit_data(notes="電話で報告を受けた。"), by=people[Role.HANDLER])
    send_visit(tablet, case.case_ref)
    assert [(v.number, v.source) for v in fieldwork.visits_of(case)] == [
        (1, "office"),
        (2, "tablet"),
    ]


def test_the_visit_rules_run_again_on_the_server(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    answer, _visit, _ids = send_visit(tablet, case.case_ref, outcome="resident_confirmed")
    assert answer["state"] == "invalid"
    assert "outcome" in answer["errors"]
    answer, _visit, _ids = send_visit(
        tablet, case.case_ref, answered=True, interviewee="neighbour", interview="自殺未遂と聞いた"
    )
    assert answer["state"] == "invalid" and "interview" in answer["errors"]
    assert "forbidden_text.refused" in actions()
    answer, _visit, _ids = send_visit(tablet, case.case_ref, building_type="castle")
    assert "building_type" in answer["errors"]
    assert case.visits.count() == 0 and not Upload.objects.exists()


def test_a_photo_other_than_announced_is_refused(enrolled, people, assigned):
    """A photo changed on the device after the visit was sealed does not get in; its
    visit waits, the other photo and the other visit of the request are kept."""
    tablet = ready(enrolled, people)
    item = Visit(assigned["mine"][0].case_ref, [photo_with_metadata(), photo_with_metadata(3)])
    other = Visit(assigned["mine"][1].case_ref)
    parts = {(item.id, item.ids[0]): item.pictures[0], (item.id, item.ids[1]): b"\xff\xd8 other"}
    first, second = answers(post_batch(tablet, [item.entry, other.entry], parts))
    assert first["state"] == "waiting" and first["missing"] == [item.ids[1]]
    assert first["photos_refused"] == [
        {
            "photo": item.ids[1],
            "reason": "photo_mismatch",
            "message": first["photos_refused"][0]["message"],
        }
    ]
    assert "撮り直して" in first["photos_refused"][0]["message"]
    assert second["state"] == "recorded"
    assert (
        AuditEntry.objects.filter(action="tablet.photo_refused").get().detail["photo"]
        == (item.ids[1])
    )
    assert Upload.objects.get(client_id=item.id).state == "waiting"
    assert UploadPhoto.objects.count() == 1


def test_a_request_over_the_limits_is_refused_whole(enrolled, people, assigned, monkeypatch):
    tablet = ready(enrolled, people)
    monkeypatch.setattr(batch, "MAX_BYTES", 1024 * 1024)
    item = Visit(assigned["mine"][0].case_ref, [secrets.token_bytes(1024 * 1024)])
    response = post_batch(tablet, [item.entry], item.photos())
    assert response.status_code == 413 and response.json()["reason"] == "size"
    assert "1 MB" in response.json()["error"] and "20 件" in response.json()["error"]
    many = [Visit(assigned["mine"][n % 2].case_ref).entry for n in range(batch.MAX_VISITS + 1)]
    response = post_batch(tablet, many)
    assert response.status_code == 413 and "大きすぎます" in response.json()["error"]
    assert not Upload.objects.exists()


def test_a_request_not_as_the_app_writes_it_is_refused_whole(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    item = Visit(assigned["mine"][0].case_ref, [photo_with_metadata()])
    response = post_batch(tablet, [item.entry], body=b"{}", kind="application/json")
    assert response.status_code == 400 and response.json()["reason"] == "json"
    body, kind = batch.encode([item.entry], item.photos())
    response = post_batch(tablet, [], body=body[:-20], kind=kind)  # cut short
    assert response.status_code == 400
    response = post_batch(tablet, [item.entry, item.entry])
    assert response.status_code == 400 and response.json()["reason"] == "batch"
    response = post_batch(tablet, [], item.photos())  # a photo without its visit
    assert response.status_code == 400 and response.json()["reason"] == "batch"
    assert not Upload.objects.exists()


def test_the_app_packs_to_the_servers_limits():
    script = Path(batch.__file__).parent / "static" / "tablet" / "api.js"
    text = script.read_text()
    assert re.search(rf"BATCH_MAX_VISITS = {batch.MAX_VISITS};", text)
    assert re.search(r"BATCH_MAX_BYTES = 8 \* 1024 \* 1024;", text)
    assert batch.MAX_BYTES == 8 * 1024 * 1024


def test_a_device_revoked_mid_sync_drops_what_was_half_sent(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    item = Visit(case.case_ref, [photo_with_metadata(seed=0), photo_with_metadata(seed=3)])
    answers(post_batch(tablet, [item.entry], item.photos(0)))
    services.revoke(enrolled.device, by=people[Role.MANAGER], reason="紛失")
    response = post_batch(tablet, [item.entry], item.photos(1))
    assert response.status_code == 410 and response.json()["wipe"] is True
    upload = Upload.objects.get(client_id=item.id)
    assert (upload.state, upload.reason, upload.sealed) == ("refused", "revoked", b"")
    assert not UploadPhoto.objects.exists() and case.visits.count() == 0
    entry = AuditEntry.objects.filter(action="tablet.wipe_sent").last()
    assert entry.detail["visits_discarded"] == 1

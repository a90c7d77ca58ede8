"""Sync up (issue 16 item 3, C-S2.4): visits and photos from the device through
fieldwork's one visit write path; idempotent, resumable, signed, refused and logged
outside the assignment; the conflict rules of docs/tablet.md, each tested."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork import selectors as fieldwork
from genchi.fieldwork import services as fieldwork_services
from genchi.fieldwork.services import assign_cases, record_visit
from genchi.tablet import services
from genchi.tablet.models import Upload, UploadPhoto
from tests.conftest import PASSWORD
from tests.fieldwork.visits import form_data, photo_with_metadata, visit_data

pytestmark = pytest.mark.django_db


def ready(tablet, people):
    """Signed in at the office and synced down (the device holds its cases)."""
    response = tablet.sign_in(people[Role.SURVEYOR].username, PASSWORD)
    assert response.status_code == 200, response.content
    assert tablet.sync().status_code == 200
    return tablet


def new_id() -> str:
    return secrets.token_hex(16)


def send_visit(
    tablet, case_ref: str, photos: list[bytes] = (), visit: str = "", arrived=None, **fields
):
    visit = visit or new_id()
    listed = [{"id": new_id(), "sha256": hashlib.sha256(p).hexdigest()} for p in photos]
    body = {"visit": visit, "case": case_ref, "fields": form_data(**fields), "photos": listed}
    if arrived is not None:
        body["arrived_at"] = arrived.isoformat()
    response = tablet.post("/tablet/api/sync/up/visit/", body)
    return response, visit, [item["id"] for item in listed]


def send_photo(tablet, visit: str, photo: str, data: bytes):
    path = f"/tablet/api/sync/up/photo/{visit}/{photo}/"
    headers = tablet.headers(path, data)
    return tablet.client.post(path, data, content_type="application/octet-stream", **headers)


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


def test_a_visit_and_its_photos_are_stored_once_and_resume(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    pictures = [photo_with_metadata(seed=0), photo_with_metadata(seed=3)]
    response, visit, ids = send_visit(tablet, case.case_ref, pictures)
    assert response.status_code == 200, response.content
    assert response.json() == {"visit": visit, "state": "waiting", "missing": ids}
    # The first photo arrives, then the sync is cut; the device asks again where it is.
    assert send_photo(tablet, visit, ids[0], pictures[0]).json()["missing"] == [ids[1]]
    again = tablet.post(
        "/tablet/api/sync/up/visit/",
        {"visit": visit, "case": case.case_ref, "fields": form_data(), "photos": []},
    )
    assert again.json() == {"visit": visit, "state": "waiting", "missing": [ids[1]]}
    # A photo sent twice is kept once.
    assert send_photo(tablet, visit, ids[0], pictures[0]).json()["missing"] == [ids[1]]
    assert UploadPhoto.objects.count() == 1
    done = send_photo(tablet, visit, ids[1], pictures[1])
    assert done.json() == {"visit": visit, "state": "recorded"}
    # The office sees the visit, entered from the tablet, with both photos.
    case.refresh_from_db()
    visits = fieldwork.visits_of(case)
    assert [(v.number, v.source, v.by_id) for v in visits] == [
        (1, "tablet", people[Role.SURVEYOR].pk)
    ]
    assert len(visits[0].photos.all()) == 2
    assert case.status == "visited" and case.visit_count == 1
    # Sent again whole: still one visit; nothing of it waits on the server any more.
    assert send_visit(tablet, case.case_ref, visit=visit)[0].json()["state"] == "recorded"
    assert send_photo(tablet, visit, ids[1], pictures[1]).json()["state"] == "recorded"
    case.refresh_from_db()
    assert case.visit_count == 1
    upload = Upload.objects.get(client_id=visit)
    assert upload.sealed == b"" and not upload.photos.exists()
    entry = AuditEntry.objects.filter(action="visit.recorded").get()
    assert entry.actor == people[Role.SURVEYOR].username
    assert "tablet.visit_uploaded" in actions()


def test_the_fields_wait_sealed_on_the_server(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    picture = photo_with_metadata()
    _response, visit, _ids = send_visit(
        tablet, assigned["mine"][0].case_ref, [picture], landlord_name="豊玉管理株式会社"
    )
    upload = Upload.objects.get(client_id=visit)
    assert "豊玉管理".encode() not in bytes(upload.sealed)
    assert b"landlord" not in bytes(upload.sealed)


def test_a_visit_without_photos_is_recorded_at_once(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    response, visit, _ids = send_visit(tablet, assigned["mine"][1].case_ref)
    assert response.json() == {"visit": visit, "state": "recorded"}


def test_sync_up_is_signed_and_needs_the_sign_in(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    tablet.token = ""
    response, _visit, _ids = send_visit(tablet, assigned["mine"][0].case_ref)
    assert response.status_code == 401 and response.json()["reason"] == "session"
    from tests.tablet.conftest import FakeTablet

    thief = FakeTablet()
    thief.device_id, thief.token = enrolled.device_id, "x"
    response, _visit, _ids = send_visit(thief, assigned["mine"][0].case_ref)
    assert response.status_code == 401 and response.json()["reason"] == "signature"
    assert not Upload.objects.exists()


def test_a_case_never_given_is_refused_and_logged(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    response, visit, _ids = send_visit(tablet, assigned["other"].case_ref)
    assert response.json()["state"] == "refused"
    assert response.json()["reason"] == "assignment"
    assert assigned["other"].visits.count() == 0
    entry = AuditEntry.objects.filter(action="tablet.outside_assignment_refused").last()
    assert entry.detail["ref"] == assigned["other"].case_ref
    # The answer stays the same when sent again, and nothing is kept of the visit.
    assert send_visit(tablet, assigned["other"].case_ref, visit=visit)[0].json()["reason"] == (
        "assignment"
    )
    assert Upload.objects.get(client_id=visit).sealed == b""


def test_a_case_reassigned_while_the_visit_was_recorded_is_refused(
    enrolled, people, contract, assigned
):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    assign_cases(contract, [case.case_ref], assigned["other_surveyor"], by=people[Role.MANAGER])
    response, _visit, _ids = send_visit(tablet, case.case_ref)
    assert response.json()["reason"] == "reassigned"
    assert "割り当て直され" in response.json()["message"]
    assert case.visits.count() == 0
    assert AuditEntry.objects.filter(action="tablet.visit_refused").last().detail["reason"] == (
        "reassigned"
    )


def test_a_case_reassigned_before_the_last_photo_is_refused(enrolled, people, contract, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    picture = photo_with_metadata()
    _response, visit, ids = send_visit(tablet, case.case_ref, [picture])
    assign_cases(contract, [case.case_ref], assigned["other_surveyor"], by=people[Role.MANAGER])
    answer = send_photo(tablet, visit, ids[0], picture).json()
    assert answer["state"] == "refused" and answer["reason"] == "reassigned"
    assert case.visits.count() == 0 and not UploadPhoto.objects.exists()


def test_a_finished_case_takes_no_visit(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    fieldwork_services.review_case(case, approve=True, by=people[Role.MANAGER])
    response, _visit, _ids = send_visit(tablet, case.case_ref)
    assert response.json()["reason"] == "closed"
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
    response, _visit, _ids = send_visit(tablet, case.case_ref, outcome="resident_confirmed")
    assert response.json()["state"] == "invalid"
    assert "outcome" in response.json()["errors"]
    response, _visit, _ids = send_visit(
        tablet, case.case_ref, answered=True, interviewee="neighbour", interview="自殺未遂と聞いた"
    )
    assert response.json()["state"] == "invalid" and "interview" in response.json()["errors"]
    assert "forbidden_text.refused" in actions()
    response, _visit, _ids = send_visit(tablet, case.case_ref, building_type="castle")
    assert "building_type" in response.json()["errors"]
    assert case.visits.count() == 0 and not Upload.objects.exists()


def test_a_photo_other_than_announced_is_refused(enrolled, people, assigned):
    """A photo changed on the device after the visit was sealed does not get in."""
    tablet = ready(enrolled, people)
    picture = photo_with_metadata()
    _response, visit, ids = send_visit(tablet, assigned["mine"][0].case_ref, [picture])
    response = send_photo(tablet, visit, ids[0], photo_with_metadata(seed=2))
    assert response.status_code == 400 and response.json()["reason"] == "photo_mismatch"
    assert "tablet.photo_refused" in actions()
    assert Upload.objects.get(client_id=visit).state == "waiting"


def test_a_device_revoked_mid_sync_drops_what_was_half_sent(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    pictures = [photo_with_metadata(seed=0), photo_with_metadata(seed=3)]
    _response, visit, ids = send_visit(tablet, case.case_ref, pictures)
    send_photo(tablet, visit, ids[0], pictures[0])
    services.revoke(enrolled.device, by=people[Role.MANAGER], reason="紛失")
    response = send_photo(tablet, visit, ids[1], pictures[1])
    assert response.status_code == 410 and response.json()["wipe"] is True
    upload = Upload.objects.get(client_id=visit)
    assert (upload.state, upload.reason, upload.sealed) == ("refused", "revoked", b"")
    assert not UploadPhoto.objects.exists() and case.visits.count() == 0
    entry = AuditEntry.objects.filter(action="tablet.wipe_sent").last()
    assert entry.detail["visits_discarded"] == 1

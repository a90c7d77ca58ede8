"""Visit photos (issue 15 item 2): type from the bytes, decompression bombs and oversized
files refused, metadata stripped, resized, encrypted at rest in the `genchi_files` storage
under photos/, shown only through a logged view, duplicates across cases flagged."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork import photos
from genchi.fieldwork.models import SurveyCase, VisitPhoto
from genchi.fieldwork.services import assign_cases, record_visit
from genchi.parties import services as parties
from genchi.parties.models import Designation
from tests.conftest import make_person
from tests.fieldwork.visits import (
    form_data,
    photo_with_metadata,
    png_header_only,
    sample,
    visit_data,
)
from tests.fieldwork.world import receive


@pytest.fixture
def cases(people, contract, keys_exchanged) -> list[SurveyCase]:
    received = receive(people, contract)
    assign_cases(
        contract, [c.case_ref for c in received[:3]], people[Role.SURVEYOR], by=people[Role.MANAGER]
    )
    return list(SurveyCase.objects.filter(contract=contract).order_by("id"))


def _upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a" + b"\x00" * 200, "JPEG または PNG"),
        (b"%PDF-1.7\n" + b"\x00" * 200, "JPEG または PNG"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 200, "HEIC"),  # an iPhone's photo
        (b"\xff\xd8\xff\xe0" + b"not a picture at all" * 20, "読めない"),  # JPEG in name only
        (sample()[:3000], "読めない"),  # cut short
        (png_header_only(8000, 8000), "画素数"),  # 64 Mpx: over Genchi's limit
        (png_header_only(100_000, 100_000), "画素数"),  # 10 Gpx: Pillow's bomb error
        (b"", "空"),
    ],
)
def test_refused_whatever_the_name_says(data, reason):
    with pytest.raises(ValidationError, match=reason):
        photos.clean_photo(_upload(data))


def test_an_oversized_file_is_refused_before_it_is_decoded():
    big = b"\xff\xd8\xff\xe0" + b"\x00" * photos.PHOTO_MAX_BYTES
    with pytest.raises(ValidationError, match="大きすぎます"):
        photos.clean_photo(_upload(big))
    with pytest.raises(ValidationError, match="大きすぎます"):
        photos.clean_photo(big)


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_metadata_is_stripped_and_the_photo_scaled(kind):
    original = photo_with_metadata(kind, size=(3000, 2000))
    assert b"GenchiCam" in original
    clean = photos.clean_photo(_upload(original))
    assert clean.kind == kind and (clean.width, clean.height) == (photos.MAX_SIDE, 1365)
    for marker in (b"Exif", b"GenchiCam", b"2026:11:30", b"secret-comment", b"tEXt", b"eXIf"):
        assert marker not in clean.data
    with Image.open(io.BytesIO(clean.data)) as image:
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info


def test_photos_are_encrypted_at_rest_and_shown_only_through_a_logged_view(
    cases, people, client_for
):
    original = photo_with_metadata("jpeg")
    visit = record_visit(
        cases[0], visit_data(), [_upload(original), sample("door-1.jpg")], by=people[Role.SURVEYOR]
    )
    stored = list(visit.photos.order_by("id"))
    assert len(stored) == 2
    files = storages["genchi_files"]
    for photo in stored:
        assert photo.storage_name.startswith(f"photos/{cases[0].contract.code}/")
        with files.open(photo.storage_name, "rb") as raw:
            ciphertext = raw.read()
        assert not ciphertext.startswith(b"\xff\xd8\xff") and b"JFIF" not in ciphertext
        assert cases[0].case_ref not in photo.storage_name
    # The stored, decrypted bytes carry no EXIF and no GPS position.
    shown = photos.photo_bytes(stored[0])
    assert shown.startswith(b"\xff\xd8\xff")
    assert b"Exif" not in shown and b"GenchiCam" not in shown
    with Image.open(io.BytesIO(shown)) as image:
        assert not image.getexif() and not image.getexif().get_ifd(0x8825)

    url = f"/fieldwork/photos/{stored[0].pk}/"
    for role in (Role.MANAGER, Role.HANDLER, Role.SURVEYOR):
        response = client_for(role).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg" and response.content == shown
        assert "no-store" in response["Cache-Control"]
        entry = AuditEntry.objects.filter(action="visit_photo.viewed").latest("seq")
        assert entry.actor == people[role].username
        assert entry.detail["ref"] == cases[0].case_ref
    for role in (Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        assert client_for(role).get(url).status_code == 403
    assert client_for(Role.MANAGER).get("/fieldwork/photos/999999/").status_code == 404


def test_a_surveyor_sees_no_photo_of_another_surveyors_case(
    cases, people, contract, contractor, client_for
):
    colleague = make_person("c-surveyor2", contractor, Role.SURVEYOR)
    parties.designate(
        contract=contract,
        person=colleague,
        role=Designation.Role.SURVEYOR,
        starts_on=contract.starts_on,
        by=people[Role.WARD_ADMIN],
    )
    assign_cases(contract, [cases[3].case_ref], colleague, by=people[Role.MANAGER])
    record_visit(cases[3], visit_data(), [sample()], by=colleague)
    photo = VisitPhoto.objects.get()
    assert client_for(Role.SURVEYOR).get(f"/fieldwork/photos/{photo.pk}/").status_code == 404
    assert client_for(Role.HANDLER).get(f"/fieldwork/photos/{photo.pk}/").status_code == 200


def test_the_same_picture_for_two_cases_is_flagged(cases, people, client_for, contract):
    first = record_visit(cases[0], visit_data(), [sample("house-1.jpg")], by=people[Role.SURVEYOR])
    # The same case photographed again from the same spot is not a duplicate.
    again = record_visit(cases[0], visit_data(), [sample("house-1.jpg")], by=people[Role.SURVEYOR])
    assert again.photos.get().duplicate_of is None
    # A copy re-encoded smaller, handed in for another case, is.
    with Image.open(io.BytesIO(sample("house-1.jpg"))) as image:
        copy = io.BytesIO()
        image.resize((400, 300)).save(copy, "JPEG", quality=60)
    other = record_visit(
        cases[1],
        visit_data(),
        [copy.getvalue(), sample("apartment-1.jpg")],
        by=people[Role.SURVEYOR],
    )
    flagged, different = other.photos.order_by("id")
    assert flagged.duplicate_of == first.photos.get()
    assert different.duplicate_of is None
    entry = AuditEntry.objects.filter(action="visit.recorded").latest("seq")
    assert entry.detail["duplicates"] == [{"photo": flagged.pk, "same_as": first.photos.get().pk}]
    page = client_for(Role.MANAGER).get(f"/fieldwork/cases/{contract.code}/{cases[1].case_ref}/")
    assert "別の案件の写真と同じ画像です" in page.content.decode()


def test_a_refused_photo_keeps_nothing(cases, people):
    files = storages["genchi_files"]
    before = files.listdir("photos")[1] if files.exists("photos") else []
    with pytest.raises(ValidationError, match="2 枚目"):
        record_visit(
            cases[0],
            visit_data(),
            [sample(), png_header_only(8000, 8000)],
            by=people[Role.SURVEYOR],
        )
    cases[0].refresh_from_db()
    assert cases[0].visit_count == 0 and not VisitPhoto.objects.exists()
    after = files.listdir("photos")[1] if files.exists("photos") else []
    assert before == after


def test_photos_through_the_office_form(cases, people, contract, client_for):
    url = f"/fieldwork/cases/{contract.code}/{cases[0].case_ref}/visits/new/"
    data = form_data()
    data["photos"] = [
        _upload(sample("house-1.jpg"), "a.jpg"),
        _upload(sample("door-1.jpg"), "b.jpg"),
    ]
    response = client_for(Role.HANDLER).post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert VisitPhoto.objects.filter(case=cases[0]).count() == 2
    data = form_data()
    data["photos"] = [_upload(b"GIF89a" + b"\x00" * 100, "c.jpg")]
    page = client_for(Role.HANDLER).post(url, data).content.decode()
    assert "写真 1 枚目" in page and "JPEG または PNG" in page
    assert VisitPhoto.objects.filter(case=cases[0]).count() == 2


def test_photos_of_a_visit_that_fails_late_leave_no_file(cases, people, monkeypatch):
    """The photos are stored before the visit's audit entry; when the save fails after
    that, the rows roll back and their files are removed."""
    from genchi.fieldwork import services

    def broken(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(services, "record", broken)
    files = storages["genchi_files"]
    folder = f"photos/{cases[0].contract.code}"
    before = set(files.listdir(folder)[1]) if files.exists(folder) else set()
    with pytest.raises(RuntimeError):
        record_visit(cases[0], visit_data(), [sample("meters-1.jpg")], by=people[Role.SURVEYOR])
    after = set(files.listdir(folder)[1]) if files.exists(folder) else set()
    assert after == before and not VisitPhoto.objects.exists()
    cases[0].refresh_from_db()
    assert cases[0].visit_count == 0


def _age(names, seconds: float) -> None:
    """Make stored files look `seconds` old (the sweep spares young files)."""
    import os
    import time

    files = storages["genchi_files"]
    for name in names:
        then = time.time() - seconds
        os.utime(files.path(name), (then, then))


def test_photos_of_a_visit_rolled_back_by_an_outer_transaction_are_swept(
    cases, people, own_file_store
):
    """A caller's transaction around record_visit rolls back after it returned: the rows
    are gone but the files were written. The sweep (genchi worker) removes them once they
    are older than the grace period, and never a file a row still names."""
    from django.db import transaction

    from genchi.core.storedfiles import ORPHAN_GRACE_SECONDS, sweep_orphans

    files = storages["genchi_files"]
    kept = record_visit(cases[0], visit_data(), [sample("door-1.jpg")], by=people[Role.SURVEYOR])
    [kept_name] = kept.photos.values_list("storage_name", flat=True)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        visit = record_visit(
            cases[1], visit_data(), [sample("meters-1.jpg")], by=people[Role.SURVEYOR]
        )
        [orphan] = visit.photos.values_list("storage_name", flat=True)
        raise Undo
    assert files.exists(orphan) and not VisitPhoto.objects.filter(storage_name=orphan).exists()

    assert sweep_orphans() == 0  # young: its row may still be on its way
    assert files.exists(orphan)
    _age([orphan, kept_name], ORPHAN_GRACE_SECONDS + 60)
    assert sweep_orphans() == 1
    assert not files.exists(orphan) and files.exists(kept_name)
    assert photos.photo_bytes(kept.photos.get())[:2] == b"\xff\xd8"  # still readable

"""Review findings on the intake pages: odd input is refused, never a server error."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from genchi.accounts.models import Role
from genchi.intake import services, views
from genchi.intake.models import BatchItem, Case, ImportRun

from .conftest import csv_bytes, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client_for):
    client = client_for(Role.WARD_STAFF)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("value", ["²", "١٢", "9" * 30, "9" * 5000])
def test_odd_case_ids_are_ignored_not_a_server_error(staff, contract, value):
    services.import_file(contract, csv_bytes([row()]))
    case = Case.objects.get()
    batch = services.create_batch(contract, title="x")
    response = staff.post(f"/batches/{batch.pk}/add/", {"case": [value, str(case.pk)]})
    assert response.status_code == 302
    assert list(BatchItem.objects.values_list("case_id", flat=True)) == [case.pk]
    response = staff.post(f"/batches/{batch.pk}/remove/", {"case": [value]})
    assert response.status_code == 302
    assert BatchItem.objects.count() == 1


def test_upload_over_the_limit_is_refused_with_the_reason(staff, contract, monkeypatch):
    monkeypatch.setattr(views, "MAX_FILE_BYTES", 1000)
    data = csv_bytes([row(notes="x" * 1500)])
    response = staff.post(
        "/intake/import/", {"contract": contract.pk, "file": SimpleUploadedFile("a.csv", data)}
    )
    assert response.status_code == 200
    assert "大きすぎ" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_upload_limit_counts_every_file_of_the_request(staff, contract, monkeypatch):
    """Extra file parts cannot each take the limit in memory: the request as a whole counts."""
    monkeypatch.setattr(views, "MAX_FILE_BYTES", 1000)
    small = csv_bytes([row()])
    assert len(small) < 600
    response = staff.post(
        "/intake/import/",
        {
            "contract": contract.pk,
            "extra1": SimpleUploadedFile("x1.bin", b"x" * 600),
            "extra2": SimpleUploadedFile("x2.bin", b"x" * 600),
            "file": SimpleUploadedFile("a.csv", small),
        },
    )
    assert response.status_code == 200
    assert "大きすぎ" in response.content.decode()
    assert not ImportRun.objects.exists()

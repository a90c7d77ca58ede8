"""The intake pages: upload → preview → commit, error report, cases, batches, roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.intake import services, views
from genchi.intake.models import Batch, BatchItem, Case, ImportRun, MappingPreset
from genchi.jobs.models import JobState

from .conftest import csv_bytes, row

pytestmark = pytest.mark.django_db


def upload(client, contract, data: bytes, name="list.csv", **extra):
    payload = {"contract": contract.pk, "file": SimpleUploadedFile(name, data), **extra}
    return client.post("/intake/import/", payload)


@pytest.fixture
def staff(client_for):
    client = client_for(Role.WARD_STAFF)
    client.raise_request_exception = False
    return client


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


def test_upload_preview_commit(client_for, contract, good_csv, taxpayers):
    client = client_for(Role.WARD_STAFF)
    response = upload(client, contract, good_csv)
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.CHECKED and Case.objects.count() == 0
    assert good_csv not in bytes(run.payload)  # kept encrypted only
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "登録する" in page.content.decode()
    response = client.post(f"/intake/import/{run.pk}/commit/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportRun.Status.COMMITTED
    assert Case.objects.count() == len(taxpayers) == run.imported_rows
    assert bytes(run.payload) == b""


def test_error_file_preview_report_and_exclusion(client_for, contract):
    client = client_for(Role.WARD_ADMIN)
    data = csv_bytes(
        [row(), row(number="2", name="=cmd|' /C calc'!A0", address="東京都新宿区西新宿2-8-1")]
    )
    upload(client, contract, data)
    run = ImportRun.objects.get()
    assert run.error_rows == 1 and run.error_row_numbers == [3]
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert "数式" in page and "エラー" in page
    report = client.get(f"/intake/import/{run.pk}/errors.csv")
    body = report.content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text
    assert AuditEntry.objects.filter(action="intake.import.report_downloaded").exists()
    # Without explicit exclusion nothing is stored.
    client.post(f"/intake/import/{run.pk}/commit/")
    assert Case.objects.count() == 0
    client.post(f"/intake/import/{run.pk}/commit/", {"exclude_errors": "on"})
    run.refresh_from_db()
    assert run.status == ImportRun.Status.COMMITTED and Case.objects.count() == 1
    assert run.excluded_rows == [3]


def test_refused_file_shows_japanese_reason(client_for, contract):
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, b"", name="empty.csv")
    # Django refuses an empty upload in the form itself; a header-only file reaches the service.
    upload(client, contract, "氏名,住所\r\n".encode("cp932"))
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.REFUSED
    assert "データ行がありません" in client.get(f"/intake/import/{run.pk}/").content.decode()
    assert AuditEntry.objects.filter(action="intake.import.refused").exists()


def test_manual_mapping_and_preset(client_for, contract, ward):
    client = client_for(Role.WARD_STAFF)
    data = csv_bytes(
        [["山田 太郎", "東京都世田谷区太子堂4-1-1", "x"]], header=["お名前", "宛先", "色"]
    )
    upload(client, contract, data)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.REFUSED
    page = client.get(f"/intake/import/{run.pk}/mapping/")
    assert page.status_code == 200
    response = client.post(
        f"/intake/import/{run.pk}/mapping/",
        {"col_0": "name", "col_1": "address", "col_2": "_ignore", "save_as": "区の様式A"},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED, run.message
    preset = MappingPreset.objects.get(organisation=ward)
    assert preset.mapping["お名前"] == "name"
    # The preset is offered on the next upload and applied.
    upload(client, contract, data, preset=preset.pk)
    assert ImportRun.objects.order_by("-pk").first().status == ImportRun.Status.CHECKED


def _import(contract, rows):
    run, report = services.import_file(contract, csv_bytes(rows))
    assert report.stored, report.message
    return run


def test_case_list_filters_and_detail_is_logged(client_for, contract):
    _import(
        contract,
        [
            row(),
            row(number="2", name="佐藤 花子", address="横浜市中区山下町1-1", postal="231-0023"),
        ],
    )
    client = client_for(Role.WARD_AUDITOR)
    page = client.get("/cases/?pref=神奈川県").content.decode()
    assert "佐藤 花子" in page and "山田 太郎" not in page
    assert AuditEntry.objects.filter(action="case.list_viewed").exists()
    case = Case.objects.get(pref="神奈川県")
    before = AuditEntry.objects.filter(action="case.viewed", object_id=str(case.pk)).count()
    response = client.get(f"/cases/{case.ref}/")
    assert response.status_code == 200 and "佐藤 花子" in response.content.decode()
    assert (
        AuditEntry.objects.filter(action="case.viewed", object_id=str(case.pk)).count()
        == before + 1
    )
    # The auditor reads only.
    assert client.post(f"/cases/{case.ref}/address/", {"address": "x"}).status_code == 403
    assert client.post("/intake/import/").status_code == 403


def test_contractor_never_sees_intake(client_for, contract):
    _import(contract, [row()])
    case = Case.objects.get()
    for role in (Role.MANAGER, Role.HANDLER, Role.SURVEYOR):
        client = client_for(role)
        for url in ("/cases/", f"/cases/{case.ref}/", "/intake/import/", "/batches/"):
            assert client.get(url).status_code == 403


def test_address_correction_with_candidate(client_for, contract):
    _import(contract, [row(address="東京都世田谷区存在しない町99", postal="")])
    case = Case.objects.get()
    assert case.geocode_level == 2
    client = client_for(Role.WARD_STAFF)
    response = client.post(
        f"/cases/{case.ref}/address/",
        {"address": "東京都世田谷区太子堂4-1-1", "building_line": "コーポ 101", "postal_code": ""},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.geocode_level == 3 and case.town.startswith("太子堂")
    assert case.postal_code == "154-0004" and case.building_line == "コーポ 101"
    assert AuditEntry.objects.filter(action="case.address_corrected").exists()
    # In-city corrections are refused like at intake.
    page = client.post(f"/cases/{case.ref}/address/", {"address": "東京都新宿区西新宿2-8-1"})
    assert page.status_code == 200 and "区内" in page.content.decode()


def test_batch_limit_priority_and_seal(client_for, contract):
    contract.max_cases = 3
    contract.save()
    rows = [
        row(number=str(i), name=f"人 {n}", amount=str(a))
        for i, (n, a) in enumerate([("一", 100), ("二", 500), ("三", 300), ("四", 900), ("五", 50)])
    ]
    _import(contract, rows)
    client = client_for(Role.WARD_STAFF)
    response = client.post(
        "/batches/new/", {"contract": contract.pk, "title": "第1回", "priority": "amount_desc"}
    )
    batch = Batch.objects.get()
    assert response["Location"].endswith(f"/batches/{batch.pk}/")
    client.post(f"/batches/{batch.pk}/fill/", {"fill-min_level": "3"})
    names = [i.case.name for i in batch.items.order_by("position")]
    assert names == ["人 四", "人 二", "人 三"]  # highest amount first, capped at 3
    # By hand: over the limit is refused.
    extra = Case.objects.filter(status=Case.Status.IMPORTED).first()
    client.post(f"/batches/{batch.pk}/add/", {"case": [extra.pk]})
    assert batch.items.count() == 3
    client.post(f"/batches/{batch.pk}/seal/")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.SEALED
    client.post(f"/batches/{batch.pk}/remove/", {"case": [batch.items.first().case_id]})
    assert batch.items.count() == 3  # sealed batches are frozen
    assert client_for(Role.WARD_AUDITOR).get(f"/batches/{batch.pk}/").status_code == 200


def test_bad_fill_input_shows_the_batch_page_with_the_error(client_for, contract):
    _import(contract, [row()])
    batch = services.create_batch(contract, title="第1回")
    client = client_for(Role.WARD_STAFF)
    response = client.post(f"/batches/{batch.pk}/fill/", {"fill-min_level": "3", "fill-limit": "0"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "第1回" in page and 'name="fill-limit" value="0"' in page
    assert "1 以上" in page  # what was wrong, beside the field
    assert not batch.items.exists()


def test_a_handed_over_case_keeps_its_address(client_for, contract):
    _import(contract, [row()])
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(status=Case.Status.HANDED_OVER)
    client = client_for(Role.WARD_STAFF)
    assert "住所の手修正" not in client.get(f"/cases/{case.ref}/").content.decode()
    response = client.post(
        f"/cases/{case.ref}/address/", {"address": "東京都世田谷区三軒茶屋1-1-1"}, follow=True
    )
    assert "もう修正できません" in response.content.decode()
    before = case.address
    case.refresh_from_db()
    assert case.address == before
    assert not AuditEntry.objects.filter(action="case.address_corrected").exists()


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


def test_hand_selection_from_case_list(client_for, contract):
    _import(contract, [row(), row(number="2", name="佐藤 花子")])
    client = client_for(Role.WARD_STAFF)
    batch = services.create_batch(contract, title="手選び")
    page = client.get("/cases/").content.decode()
    assert f"/batches/{batch.pk}/add/" in page
    first = Case.objects.order_by("pk").first()
    client.post(f"/batches/{batch.pk}/add/", {"case": [first.pk]})
    assert list(batch.items.values_list("case_id", flat=True)) == [first.pk]
    first.refresh_from_db()
    assert first.status == Case.Status.IN_BATCH


def test_case_list_offers_every_draft_batch(client_for, contract):
    _import(contract, [row()])
    first = services.create_batch(contract, title="第1回")
    second = services.create_batch(contract, title="第2回")
    page = client_for(Role.WARD_STAFF).get("/cases/").content.decode()
    for batch in (first, second):
        assert f'formaction="/batches/{batch.pk}/add/"' in page


def _job_running(run: ImportRun, *, status, beat_age: float, done=3, total=10) -> None:
    """The run's job as a worker leaves it: running, last heartbeat `beat_age` seconds ago."""
    ImportRun.objects.filter(pk=run.pk).update(
        status=status,
        job_state=JobState.RUNNING,
        job_token="attempt-1",
        job_step="check",
        job_done=done,
        job_total=total,
        job_heartbeat_at=timezone.now() - dt.timedelta(seconds=beat_age),
    )
    run.refresh_from_db()


@pytest.mark.parametrize("status", [ImportRun.Status.CHECKING, ImportRun.Status.COMMITTING])
def test_a_run_whose_worker_died_is_shown_interrupted_and_starts_again_in_one_click(
    client_for, contract, good_csv, settings, status
):
    """The worker was killed mid-job: no heartbeat any more. The page says so instead of
    spinning forever, nothing was stored (each storing step is one transaction), the
    interruption is logged, and one click starts the job again."""
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, good_csv)  # checked (the job runs at once in tests)
    run = ImportRun.objects.get()
    _job_running(run, status=status, beat_age=settings.GENCHI_JOB_STALE_AFTER_SECONDS + 1)
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    run.refresh_from_db()
    assert Case.objects.count() == 0
    assert run.job_state == JobState.INTERRUPTED
    entry = AuditEntry.objects.get(action="intake.import.interrupted")
    assert entry.detail["id"] == run.pk and entry.detail["step"] == "check"
    if status == ImportRun.Status.CHECKING:
        assert "検査が中断されました" in page and "もう一度検査する" in page
        assert run.status == ImportRun.Status.UPLOADED
        assert client.post(f"/intake/import/{run.pk}/check/").status_code == 302
        run.refresh_from_db()
        assert run.status == ImportRun.Status.CHECKED and run.job_state == JobState.SUCCEEDED
    else:  # the check still holds: one more click stores everything
        assert "登録が中断されました" in page and "登録する" in page
        assert run.status == ImportRun.Status.CHECKED
        assert client.post(f"/intake/import/{run.pk}/commit/").status_code == 302
        run.refresh_from_db()
        assert run.status == ImportRun.Status.COMMITTED and Case.objects.count() > 0
        assert run.job_state == JobState.SUCCEEDED and run.job_attempts == 2  # check, commit
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert AuditEntry.objects.filter(action="intake.import.interrupted").count() == 1


def test_a_run_whose_worker_beats_shows_its_progress_until_the_beat_stops(
    client_for, contract, good_csv, settings
):
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, good_csv)
    run = ImportRun.objects.get()
    _job_running(run, status=ImportRun.Status.CHECKING, beat_age=1, done=3, total=10)
    response = client.get(f"/intake/import/{run.pk}/progress/")
    body = response.content.decode()
    assert response.status_code == 200 and "3 / 約 10 行" in body and 'value="3"' in body
    assert client.get(f"/intake/import/{run.pk}/").content.decode().count("hx-get") == 1

    settings.GENCHI_JOB_STALE_AFTER_SECONDS = 0.5  # the beat stopped longer ago than this
    response = client.get(f"/intake/import/{run.pk}/progress/")
    assert response.status_code == 204 and response["HX-Redirect"].endswith(f"/{run.pk}/")
    run.refresh_from_db()
    assert run.status == ImportRun.Status.UPLOADED and run.job_state == JobState.INTERRUPTED


def test_a_queued_run_waits_for_the_worker(client_for, contract, good_csv, settings):
    """With a real backend the job waits for `genchi worker`; the page says so."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, good_csv)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.CHECKING and run.job_state == JobState.QUEUED
    body = client.get(f"/intake/import/{run.pk}/progress/").content.decode()
    assert "順番を待っています" in body and "genchi worker" in body


def test_a_commit_cannot_be_started_twice(client_for, contract, good_csv, settings):
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, good_csv)
    run = ImportRun.objects.get()
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client.post(f"/intake/import/{run.pk}/commit/")
    run.refresh_from_db()
    assert run.status == ImportRun.Status.COMMITTING and run.job_state == JobState.QUEUED
    token = run.job_token
    response = client.post(f"/intake/import/{run.pk}/commit/", follow=True)
    assert "登録できる状態ではありません" in response.content.decode()
    run.refresh_from_db()
    assert run.job_token == token


def test_counts_read_right_in_english(client_for, contract):
    """Counted messages use plural forms: "1 case", "2 cases" (Japanese has one form)."""
    from django.utils import translation

    run, report = services.import_file(contract, csv_bytes([row()]))
    with translation.override("en"):
        assert services.summary_message(report) == "Registered 1 case."
    client = client_for(Role.WARD_STAFF)
    client.post("/language/", {"language": "en", "next": "/cases/"})
    assert ">1 case</p>" in client.get("/cases/").content.decode()
    _import(contract, [row(number="2", name="佐藤 花子")])
    assert ">2 cases</p>" in client.get("/cases/").content.decode()
    client.post("/language/", {"language": "ja", "next": "/cases/"})
    assert ">2 件</p>" in client.get("/cases/").content.decode()


LEADING_WHITESPACE = [" ", "\t", "\r", "\n", "\r\n", "\u3000"]


def test_a_formula_after_leading_whitespace_is_refused_in_every_column_and_quoted_in_the_report(
    client_for, contract
):
    """Excel skips leading spaces, tabs and line breaks before it decides a cell is a
    formula: each column, the notes too, refuses such a cell, and the error report
    quotes it."""
    import csv
    import io

    from genchi.core.formulas import looks_like_formula
    from genchi.intake.demo_data import HEADER

    rows = []
    for column in range(len(HEADER)):
        for lead in LEADING_WHITESPACE:
            cells = row(number=str(len(rows) + 10), name=f"山田 {len(rows)}")
            cells[column] = lead + '=HYPERLINK("http://x","y")'
            rows.append(cells)
    client = client_for(Role.WARD_ADMIN)
    upload(client, contract, csv_bytes(rows))
    run = ImportRun.objects.get()
    assert run.error_row_numbers == list(range(2, len(rows) + 2))
    report = client.get(f"/intake/import/{run.pk}/errors.csv")
    cells = [
        c for line in csv.reader(io.StringIO(report.content.decode("utf-8-sig"))) for c in line
    ]
    assert any("HYPERLINK" in c for c in cells)
    assert not [c for c in cells if looks_like_formula(c) and not c.startswith("'")]

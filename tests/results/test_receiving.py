"""The ward imports a result package: reconciled against the cases it sent, all or none."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from PIL import Image

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.intake.models import Case
from genchi.package_format.records import blank_result
from genchi.results import exports, selectors
from genchi.results.models import CaseResult, ResultPhoto, ReturnedResults
from genchi.results.receiving import photo_storage
from genchi.transfer import services
from genchi.transfer.models import Package
from genchi.transfer.services import Refused
from tests.conftest import signed_in_client


def _jpeg(path, colour=(120, 80, 40)):
    Image.new("RGB", (64, 48), colour).save(path, "JPEG")
    return path


def _results_for(batch_cases, *, photo_dir=None):
    records, photos = [], []
    for i, case in enumerate(batch_cases):
        record = blank_result(case.ref, "resident_confirmed" if i % 2 == 0 else "not_resident")
        record |= {
            "decided_on": "2026-12-04",
            "visit_count": 2,
            "visits": [{"on": "2026-12-01", "at": "10:20"}, {"on": "2026-12-04", "at": "18:45"}],
            "nameplate": "taxpayer",
            "tenure": "rented",
            "landlord": "新宿ハウジング株式会社",
            "landlord_phone": "03-0000-0000",
            "contact_slip": "posted",
        }
        if photo_dir is not None and i == 0:
            name = f"{case.ref}/1.jpg"
            photos.append((_jpeg(photo_dir / f"p{i}.jpg"), name))
            record["photos"] = [name]
        records.append(record)
    return records, photos


def _send(contract, people, records, photos, tmp_path, *, answers):
    out = tmp_path / "results-out"
    out.mkdir(exist_ok=True)
    return services.export_results_package(
        contract, records, out, by=people[Role.MANAGER], answers=answers, photos=photos
    )


@pytest.fixture
def sent(exported, sealed_batch):
    cases = list(Case.objects.filter(batch_items__batch=sealed_batch).order_by("pk"))
    return exported.package, cases


def test_results_are_stored_reconciled_and_shown(sent, contract, people, tmp_path):
    package, cases = sent
    records, photos = _results_for(cases, photo_dir=tmp_path)
    written = _send(contract, people, records, photos, tmp_path, answers=str(package.package_id))
    result = services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    assert result.created == len(cases)
    assert CaseResult.objects.count() == len(cases)
    assert set(
        Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)
    ) == {Case.Status.RESULT_RECEIVED}
    first = CaseResult.objects.get(case=cases[0])
    assert first.outcome == "resident_confirmed"
    assert first.landlord == "新宿ハウジング株式会社"
    assert json.loads(first.visits)[1] == {"on": "2026-12-04", "at": "18:45"}
    # Encrypted at rest: the stored column and the stored photo hold no plaintext.
    raw = CaseResult.objects.filter(pk=first.pk).values_list("landlord", flat=True).get()
    assert "新宿" not in raw
    photo = ResultPhoto.objects.get()
    with photo_storage().open(photo.stored_as, "rb") as f:
        assert b"JFIF" not in f.read()
    summary = selectors.summary(contract)
    assert summary.sent == len(cases) and summary.received == len(cases)
    assert summary.by_outcome["resident_confirmed"] + summary.by_outcome["not_resident"] == len(
        cases
    )
    assert ReturnedResults.objects.get().photo_count == 1


def test_the_ward_sees_the_outcome_on_the_case_page_and_the_photo_through_a_logged_view(
    sent, contract, people, tmp_path
):
    package, cases = sent
    records, photos = _results_for(cases, photo_dir=tmp_path)
    written = _send(contract, people, records, photos, tmp_path, answers=str(package.package_id))
    services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    client = signed_in_client(people[Role.WARD_STAFF])
    page = client.get(f"/cases/{cases[0].ref}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "居住確認" in html and "新宿ハウジング株式会社" in html
    photo = ResultPhoto.objects.get()
    shown = client.get(f"/results/photos/{photo.pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(shown.content)).size == (64, 48)
    assert AuditEntry.objects.filter(action="results.photo_viewed").exists()


@pytest.mark.parametrize("problem", ["missing", "extra", "duplicate"])
def test_results_that_do_not_match_the_cases_sent_store_nothing(
    problem, sent, contract, people, tmp_path
):
    package, cases = sent
    records, _ = _results_for(cases)
    if problem == "missing":
        records = records[1:]
    elif problem == "extra":
        records.append(blank_result("not-sent-0001"))
    else:
        records.append(records[0])
    written = _send(contract, people, records, [], tmp_path, answers=str(package.package_id))
    with pytest.raises(Refused) as exc:
        services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    expected = {
        "missing": "results_missing",
        "extra": "results_extra",
        "duplicate": "duplicate_case",
    }
    assert exc.value.code == expected[problem]
    assert not CaseResult.objects.exists() and not ReturnedResults.objects.exists()
    assert not Package.objects.filter(kind="results", direction="in").exists()


def test_results_answering_nothing_or_twice_are_refused(sent, contract, people, tmp_path):
    package, cases = sent
    records, _ = _results_for(cases)
    stray = _send(contract, people, records, [], tmp_path, answers=None)
    with pytest.raises(Refused) as exc:
        services.receive_package(stray.path, kind="results", by=people[Role.WARD_STAFF])
    assert exc.value.code == "results_unanswered"
    first = _send(contract, people, records, [], tmp_path, answers=str(package.package_id))
    services.receive_package(first.path, kind="results", by=people[Role.WARD_STAFF])
    again = _send(contract, people, records, [], tmp_path, answers=str(package.package_id))
    with pytest.raises(Refused) as exc:
        services.receive_package(again.path, kind="results", by=people[Role.WARD_STAFF])
    assert exc.value.code == "results_answered_already"
    with pytest.raises(Refused) as exc:  # the very same file a second time
        services.receive_package(first.path, kind="results", by=people[Role.WARD_STAFF])
    assert exc.value.code == "replayed"
    assert CaseResult.objects.count() == len(cases)


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_stays_in_the_store(
    sent, contract, people, tmp_path
):
    package, cases = sent
    records, photos = _results_for(cases, photo_dir=tmp_path)
    photos[0][0].write_bytes(b"<html>not a photo</html>")
    written = _send(contract, people, records, photos, tmp_path, answers=str(package.package_id))
    with pytest.raises(Refused) as exc:
        services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    assert exc.value.code == "results_photo"
    _dirs, files = (
        photo_storage().listdir("results") if photo_storage().exists("results") else ([], [])
    )
    assert not ResultPhoto.objects.exists() and not files


def _stored_result_photos() -> list[str]:
    from genchi.core.storedfiles import names_under

    return list(names_under(photo_storage(), "results"))


def test_photos_of_an_import_that_fails_after_the_receiver_are_swept(
    sent, contract, people, tmp_path, monkeypatch, own_file_store
):
    """The receiver stored the photos and returned; then the import's transaction failed
    (here: the slip). The rows rolled back, the files stayed: the sweep (genchi worker)
    removes them once older than the grace period; the import then succeeds again."""
    import os
    import time

    from genchi.core.storedfiles import ORPHAN_GRACE_SECONDS, sweep_orphans
    from genchi.transfer.services import incoming

    package, cases = sent
    records, photos = _results_for(cases, photo_dir=tmp_path)
    written = _send(contract, people, records, photos, tmp_path, answers=str(package.package_id))

    def broken(*args, **kwargs):
        raise RuntimeError("the slip could not be written")

    with monkeypatch.context() as patch:
        patch.setattr(incoming, "issue_slip", broken)
        with pytest.raises(RuntimeError):
            services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    [orphan] = _stored_result_photos()
    assert not ResultPhoto.objects.exists()
    assert sweep_orphans() == 0  # young: spared
    then = time.time() - ORPHAN_GRACE_SECONDS - 60
    os.utime(photo_storage().path(orphan), (then, then))
    assert sweep_orphans() == 1 and _stored_result_photos() == []

    services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    [kept] = _stored_result_photos()
    os.utime(photo_storage().path(kept), (then, then))
    assert sweep_orphans() == 0 and ResultPhoto.objects.get().stored_as == kept


def test_export_for_the_tax_system_in_cp932_and_xlsx(sent, contract, people, tmp_path):
    package, cases = sent
    records, _ = _results_for(cases)
    written = _send(contract, people, records, [], tmp_path, answers=str(package.package_id))
    services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    text = exports.as_csv(contract).decode("cp932")
    lines = text.splitlines()
    assert lines[0].startswith("参照番号,宛名番号,調査結果コード")
    assert len(lines) == len(cases) + 1
    assert "resident_confirmed,居住確認,2026-12-04" in text
    assert exports.as_xlsx(contract)[:2] == b"PK"


def test_summary_command_prints_json(sent, contract, people, tmp_path, capsys):
    package, cases = sent
    records, _ = _results_for(cases)
    written = _send(contract, people, records, [], tmp_path, answers=str(package.package_id))
    call_command("results", "import", str(written.path))
    call_command("results", "summary", "--contract", contract.code, "--json")
    data = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert data["cases_sent"] == len(cases) == data["results_received"]
    assert data["by_outcome"]["resident_confirmed"] == (len(cases) + 1) // 2

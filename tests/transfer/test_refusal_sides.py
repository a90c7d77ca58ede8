"""A wrong file given to an import is refused in words that name the side it came from:
the contractor receiving cases is told of the ward, the ward receiving results of the
contractor (on the page and on the command line)."""

from __future__ import annotations

import pytest

from genchi.accounts.models import Role
from genchi.package_format.errors import Refused
from genchi.transfer.refusals import refusal_message
from tests.transfer.test_cli import genchi

FROM_WARD = "区から受け取ったUSBメモリ"
FROM_CONTRACTOR = "受託事業者から受け取ったUSBメモリ"


@pytest.fixture
def wrong_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("これはパッケージではありません")
    return path


def _page_after_import(client, path) -> str:
    with open(path, "rb") as fh:
        response = client.post("/handover/import/", {"package": fh})
    return client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("role", "named", "not_named"),
    [
        (Role.MANAGER, FROM_WARD, FROM_CONTRACTOR),  # the contractor imports cases
        (Role.WARD_STAFF, FROM_CONTRACTOR, FROM_WARD),  # the ward imports results
    ],
)
def test_the_import_page_names_the_side_that_sent_the_file(
    keys_exchanged, client_for, wrong_file, role, named, not_named
):
    page = _page_after_import(client_for(role), wrong_file)
    assert "Genchi の引渡パッケージではないか、ファイルが壊れています" in page
    assert named in page and not_named not in page


@pytest.mark.django_db
def test_the_commands_name_the_side_that_sent_the_file(keys_exchanged, people, wrong_file):
    code, _out, err = genchi("results", "import", str(wrong_file))  # the ward
    assert code == 1 and FROM_CONTRACTOR in err and "受託事業者に連絡して" in err
    assert FROM_WARD not in err and "Traceback" not in err
    code, _out, err = genchi("package", "import", str(wrong_file))  # the contractor
    assert code == 1 and FROM_WARD in err and "区に連絡して" in err
    assert FROM_CONTRACTOR not in err and "Traceback" not in err


def test_without_a_side_the_words_name_neither(settings):
    settings.LANGUAGE_CODE = "ja"
    text = refusal_message(Refused("unknown_format", reason="not_age"))
    assert "相手方から受け取った" in text
    assert FROM_WARD not in text and FROM_CONTRACTOR not in text
    english = Refused("unknown_format", reason="not_age", sender_side="contractor")
    from django.utils import translation

    with translation.override("en"):
        assert "from the contractor" in refusal_message(english)


def test_the_slip_to_confirm_names_the_side_it_came_from(exported, people, client_for, tmp_path):
    """The ward confirms the slip of the results it received: it came from the contractor
    (the contractor's slip of the cases came from the ward)."""
    from genchi.fieldwork.models import SurveyCase
    from genchi.package_format.records import blank_result
    from genchi.transfer import services
    from genchi.transfer.models import HandoverSlip

    received = services.import_cases_package(exported.path, by=people[Role.MANAGER])
    contractor_slip = HandoverSlip.objects.get(package=received.package)
    page = client_for(Role.MANAGER).get(f"/handover/slips/{contractor_slip.pk}/").content
    assert "区から受け取った票" in page.decode()

    refs = SurveyCase.objects.values_list("case_ref", flat=True)
    out = tmp_path / "results-out"
    out.mkdir()
    written = services.export_results_package(
        exported.package.contract,
        [blank_result(ref, "resident_presumed") for ref in refs],
        out,
        by=people[Role.MANAGER],
        answers=str(exported.package.package_id),
        photos=[],
    )
    imported = services.receive_package(written.path, kind="results", by=people[Role.WARD_STAFF])
    ward_slip = HandoverSlip.objects.get(package=imported.package)
    page = client_for(Role.WARD_STAFF).get(f"/handover/slips/{ward_slip.pk}/").content.decode()
    assert "受託事業者から受け取った票" in page and "区から受け取った票" not in page

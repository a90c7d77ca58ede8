"""Refusal reasons of the handover reach an English user in English, a Japanese one in
Japanese (the default): a format refusal is put into words where it is shown, a handover
refusal in the language active when it was raised."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from genchi.accounts.models import Role
from genchi.fieldwork.models import SurveyCase
from genchi.package_format import Refused, writer
from genchi.transfer import ledger, services
from genchi.transfer.models import StickEvent
from genchi.transfer.refusals import refusal_message
from tests.transfer.handover_world import tampered_export


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def test_format_refusal_is_put_into_words_where_it_is_shown():
    with translation.override("ja"):
        refusal = Refused("replayed")
    with translation.override("en"):
        assert refusal_message(refusal) == "This package has already been imported."
    with translation.override("ja"):
        assert refusal_message(refusal) == "このパッケージは既に取り込まれています。"
    assert str(refusal) == "replayed"  # for logs: the code, never words


def test_default_language_is_japanese():
    assert refusal_message(Refused("tampered")) == "パッケージが改ざんされているか、壊れています。"


def test_service_refusal_with_placeholders_is_translated(sealed_batch, people, tmp_path):
    missing = tmp_path / "no-such-folder"
    by = people[Role.WARD_STAFF]
    with translation.override("en"), pytest.raises(Refused) as english:
        services.export_batch(sealed_batch, missing, by=by)
    with translation.override("ja"), pytest.raises(Refused) as japanese:
        services.export_batch(sealed_batch, missing, by=by)
    assert english.value.code == japanese.value.code == "no_out_dir"
    assert english.value.message == "The destination folder does not exist: no-such-folder"
    assert japanese.value.message == "書き出し先のフォルダがありません: no-such-folder"
    # A handover refusal carries its words, fixed when raised.
    with translation.override("ja"):
        assert refusal_message(english.value) == english.value.message


def test_ledger_refusal_with_placeholders_is_translated(lent_stick, people):
    by = people[Role.WARD_STAFF]
    with translation.override("en"), pytest.raises(ledger.LedgerError) as english:
        ledger.wipe_stick(lent_stick, method=StickEvent.WipeMethod.OVERWRITE_DELETE, by=by)
    with translation.override("ja"), pytest.raises(ledger.LedgerError) as japanese:
        ledger.wipe_stick(lent_stick, method=StickEvent.WipeMethod.OVERWRITE_DELETE, by=by)
    assert english.value.message == "USB-01 is on loan. Record its return before wiping it."
    assert japanese.value.message == "USB-01 は貸出中です。返却を記録してから消去してください。"


def test_photo_changed_names_the_photo_in_either_language():
    error = writer.photo_changed(Path("p2.jpg"))
    with translation.override("en"):
        assert refusal_message(error) == (
            "A photo changed while the package was being written: p2.jpg"
        )
    with translation.override("ja"):
        assert refusal_message(error) == "写真が書き出し中に変更されました: p2.jpg"


def test_import_page_shows_the_refusal_in_english(sealed_batch, client_for, tmp_path, people):
    path = tampered_export(sealed_batch, tmp_path / "o", by=people[Role.WARD_STAFF])
    handler = client_for(Role.HANDLER)
    handler.post("/language/", {"language": "en", "next": "/handover/import/"})
    with open(path, "rb") as fh:  # the job writes its words in the language of who asked
        response = handler.post("/handover/import/", {"package": fh}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "The package has been tampered with or is damaged." in page
    assert "改ざん" not in page
    assert SurveyCase.objects.count() == 0

    handler.post("/language/", {"language": "ja", "next": "/handover/import/"})
    with open(path, "rb") as fh:
        response = handler.post("/handover/import/", {"package": fh}, follow=True)
    assert "パッケージが改ざんされているか、壊れています。" in response.content.decode()

"""Issue 13: the import result pages, the column mapping, stored messages in the reader's
language, and memory that does not grow with the rows waiting to be stored."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from genchi.accounts.models import Role
from genchi.intake import services
from genchi.intake.messages import render
from genchi.intake.models import Case, ImportRun
from genchi.intake.services import imports

from .conftest import csv_bytes, row

pytestmark = pytest.mark.django_db

SAME_PERSON = row(number="2")  # the same name and address as row() (row 2 of a file)


def upload(client, contract, data: bytes, name="list.csv"):
    return client.post(
        "/intake/import/", {"contract": contract.pk, "file": SimpleUploadedFile(name, data)}
    )


def tiles(page: str) -> dict[str, int]:
    block = page[page.index('id="import-tiles"') :]
    block = block[: block.index('<div class="actions">')]
    return {
        label.strip(): int(n)
        for n, label in re.findall(r'<div class="tile"><strong>(\d+)</strong>([^<]+)</div>', block)
    }


def english(client) -> None:
    client.post("/language/", {"language": "en", "next": "/"})


# --- item 4: the result page -----------------------------------------------------------


def test_all_duplicates_disables_the_button_and_says_why_and_lists_the_rows(client_for, contract):
    services.import_file(contract, csv_bytes([row()]))  # the person is held already
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, csv_bytes([row(), row(number="9")]))
    run = ImportRun.objects.latest("id")
    assert run.status == ImportRun.Status.CHECKED and run.duplicate_rows == 2
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    button = re.search(r"<button class=\"primary\" type=\"submit\"[^>]*>登録する", page).group(0)
    assert "disabled" in button and 'aria-describedby="nothing-to-register"' in button
    assert "すべての行が重複" in page
    # Which rows, duplicating what: row 2 an existing case, row 3 row 2 of the file.
    duplicates = page[page.index('id="duplicates"') :]
    assert "<td>2</td><td>登録済みの案件と同じ人・同じ住所です。" in duplicates
    assert "<td>3</td><td>2 行目と同じ人・同じ住所です。" in duplicates
    assert "新しく登録する行はありません" in run.message_text


def test_the_warning_tile_counts_the_rows_the_table_shows(client_for, contract):
    # Row 2: two warnings (no postal code, kana with a non-kana letter); row 3: a duplicate
    # of row 2, whose own warnings are not listed (it is not registered).
    two_warnings = row(postal="", kana="ヤマダ太郎")
    client = client_for(Role.WARD_STAFF)
    upload(
        client, contract, csv_bytes([two_warnings, two_warnings, row(number="5", name="別人 一郎")])
    )
    run = ImportRun.objects.get()
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    shown = tiles(page)
    assert shown["警告あり(登録可)"] == 1 == run.warning_rows
    assert "警告(登録はできます): 1 行" in page
    warning_table = page[page.index("警告(登録はできます)") : page.index('id="duplicates"')]
    assert set(re.findall(r"<tr><td>(\d+)</td>", warning_table)) == {"2"}
    assert (
        shown["行"]
        == shown["正常"] + shown["警告あり(登録可)"] + shown["エラー"] + shown["重複(登録しない)"]
    )


def test_after_excluding_error_rows_the_page_says_how_many_and_the_tiles_add_up(
    client_for, contract
):
    bad = row(number="2", name="=1+1", address="東京都世田谷区太子堂4-1-2")
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, csv_bytes([row(), bad, row(number="3", name="別人 一郎")]))
    run = ImportRun.objects.get()
    client.post(f"/intake/import/{run.pk}/commit/", {"exclude_errors": "on"})
    run.refresh_from_db()
    assert run.status == ImportRun.Status.COMMITTED and run.imported_rows == 2
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert "2 件を登録しました。エラーのある 1 行を除外しました。" in page
    shown = tiles(page)
    assert shown["除外したエラー行"] == 1
    assert (
        shown["行"]
        == 3
        == (
            shown["正常"]
            + shown["警告あり(登録可)"]
            + shown["エラー"]
            + shown["重複(登録しない)"]
            + shown["除外したエラー行"]
        )
    )
    assert shown["登録件数"] == 2


def test_unknown_column_page_says_it_once_without_zero_tiles(client_for, contract):
    client = client_for(Role.WARD_STAFF)
    data = csv_bytes(
        [row()],
        header=["宛名番号", "氏名", "カナ", "郵便番号", "住所", "方書", "滞納額", "年度", "謎の列"],
    )
    upload(client, contract, data)
    run = ImportRun.objects.get()
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert page.count("不明な列があります") == 1
    assert 'id="import-tiles"' not in page


def test_the_auditor_sees_no_button_it_may_not_press(client_for, contract, good_csv):
    staff = client_for(Role.WARD_STAFF)
    upload(staff, contract, good_csv)
    run = ImportRun.objects.get()
    auditor = client_for(Role.WARD_AUDITOR)
    page = auditor.get(f"/intake/import/{run.pk}/").content.decode()
    assert "別のファイルを取り込む" not in page and "登録する</button>" not in page
    assert "別のファイルを取り込む" in staff.get(f"/intake/import/{run.pk}/").content.decode()


# --- item 5: the column mapping --------------------------------------------------------


def test_mapping_marks_only_name_and_address_as_required(client_for, contract):
    client = client_for(Role.WARD_STAFF)
    header = ["番号", "氏名", "住所", "メモ欄"]
    upload(
        client,
        contract,
        csv_bytes([["1", "山田 太郎", "東京都世田谷区太子堂4-1-1", "x"]], header=header),
    )
    run = ImportRun.objects.get()
    page = client.get(f"/intake/import/{run.pk}/mapping/").content.decode()
    assert '<span class="badge">必須</span>' not in page  # no column is required as such
    assert page.count("氏名(必須)") == len(header) and page.count("住所(必須)") == len(header)
    assert "方書(必須)" not in page
    # A column left at 取り込まない is fine.
    response = client.post(
        f"/intake/import/{run.pk}/mapping/",
        {"col_0": "_ignore", "col_1": "name", "col_2": "address", "col_3": "_ignore"},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.mapping == {
        "番号": "_ignore",
        "氏名": "name",
        "住所": "address",
        "メモ欄": "_ignore",
    }


# --- item 11: stored messages in the reader's language --------------------------------


def test_a_run_checked_in_japanese_reads_in_english(client_for, contract):
    client = client_for(Role.WARD_STAFF)
    bad = row(number="2", name="=1+1", address="東京都世田谷区太子堂4-1-2")
    upload(client, contract, csv_bytes([row(postal=""), bad]))
    run = ImportRun.objects.get()
    assert "エラーのある行が 1 行ある" in run.message  # the words, for the command line
    assert run.message_parts and "text" in run.message_parts[0]
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert "数式とみなされる文字" in page
    english(client)
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert "数式とみなされる文字" not in page and "formula" in page.lower()
    assert "1 row has errors" in page or "error" in page.lower()
    assert "エラーのある行が" not in page
    assert "Postal code" in page  # the column, by its English label
    csv_text = client.get(f"/intake/import/{run.pk}/errors.csv").content.decode("utf-8-sig")
    assert "formula" in csv_text.lower() and "数式" not in csv_text


def test_a_refusal_reads_in_english_and_old_stored_words_stay_readable(client_for, contract):
    client = client_for(Role.WARD_STAFF)
    upload(client, contract, csv_bytes([], header=["氏名", "住所"]))
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.REFUSED
    english(client)
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert "There is only a header row and no data rows." in page
    # A run stored before the parts: its words as they were.
    ImportRun.objects.filter(pk=run.pk).update(message="古い結果の文", message_parts=[])
    assert "古い結果の文" in client.get(f"/intake/import/{run.pk}/").content.decode()


def test_an_old_report_without_parts_is_still_shown(client_for, contract):
    import json

    from genchi.intake.services.runs import _encrypt_run_data

    client = client_for(Role.WARD_STAFF)
    upload(client, contract, csv_bytes([row()]))
    run = ImportRun.objects.get()
    old = {
        "issues": [
            {"row": 2, "column": "郵便番号", "value": "", "message": "古い理由", "level": "warning"}
        ],
        "column_problems": [],
        "header": [],
    }
    run.report = _encrypt_run_data(run, "report", json.dumps(old, ensure_ascii=False).encode())
    run.save(update_fields=["report"])
    page = client.get(f"/intake/import/{run.pk}/").content.decode()
    assert "古い理由" in page and "郵便番号" in page


def test_render_uses_plural_forms_and_nested_parts():
    from genchi.intake.messages import part

    counted = part("%(n)d 件を登録しました。", plural="%(n)d 件を登録しました。", count="n", n=2)
    with translation.override("en"):
        assert render([counted]) == "Registered 2 cases."
        nested = part("必須の列がありません: %(cols)s", cols=[part("氏名"), part("住所")])
        assert render([nested]).endswith("Name、Address") or "Name" in render([nested])
    assert render("そのままの文") == "そのままの文"


# --- item 1: memory bounded by the chunk ----------------------------------------------


class _Recorded(io.BytesIO):
    written: list[bytes] = []

    def close(self) -> None:
        _Recorded.written.append(self.getvalue())
        super().close()


def test_proven_rows_wait_on_disk_a_chunk_at_a_time_encrypted(contract, monkeypatch):
    """The rows waiting for the storing transaction are kept a chunk in memory and the
    rest in a temporary file that holds ciphertext only."""
    monkeypatch.setattr(imports, "CHUNK", 3)
    monkeypatch.setattr(imports.tempfile, "TemporaryFile", lambda: _Recorded())
    _Recorded.written = []
    rows = [row(number=str(i), name=f"山田 {chr(0x4E00 + i)}郎") for i in range(10)]
    _run, report = services.import_file(contract, csv_bytes(rows))
    assert report.stored and report.imported == 10
    assert sorted(c.name for c in Case.objects.all()) == sorted(r[1] for r in rows)
    assert len(_Recorded.written) == 1
    spilled = _Recorded.written[0]
    assert spilled and "山田".encode() not in spilled and "太子堂".encode() not in spilled


def test_an_error_row_drops_what_was_kept(contract, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    rows = [row(number=str(i), name=f"山田 {chr(0x4E00 + i)}郎") for i in range(6)]
    rows.append(row(number="99", name="=1+1"))
    _run, report = services.import_file(contract, csv_bytes(rows))
    assert not report.stored and report.error_rows == 1 and not Case.objects.exists()


def test_a_cp932_file_is_read_as_it_streams_and_a_bad_byte_names_its_line(contract):
    good = csv_bytes([row(), row(number="2", name="別人 一郎")], encoding="cp932")
    _run, report = services.import_file(
        contract, good, options=services.ImportOptions(encoding="cp932")
    )
    assert report.stored and report.imported == 2
    bad = good.replace("別人".encode("cp932"), b"\x81\x0a")
    _run, report = services.import_file(
        contract, bad, options=services.ImportOptions(encoding="cp932")
    )
    assert report.refused and "3 行目付近" in report.message


# --- low items -------------------------------------------------------------------------


def test_generate_without_a_seed_picks_a_fresh_one_and_prints_it(tmp_path):
    from .test_cli import run_cli

    code, out = run_cli("cases", "generate", "5", "--out", str(tmp_path / "a"))
    assert code == 0
    seed = int(re.search(r"--seed (\d+)", out).group(1))
    from genchi.intake.demo_data import DEMO_SEED

    assert seed != DEMO_SEED
    first = (tmp_path / "a" / "taxpayers-5.csv").read_bytes()
    run_cli("cases", "generate", "5", "--out", str(tmp_path / "b"), "--seed", str(seed))
    assert (tmp_path / "b" / "taxpayers-5.csv").read_bytes() == first


def test_the_progress_bar_starts_at_the_files_estimate(contract):
    heard = []
    data = csv_bytes([row(number=str(i), name=f"山田 {chr(0x4E00 + i)}郎") for i in range(5)])
    imports.check_file(contract, data, progress=lambda done, total: heard.append((done, total)))
    assert heard[0] == (0, 5)


def test_the_progress_bar_without_an_estimate_moves_without_a_figure(client_for, contract):
    from django.template.loader import render_to_string

    run = ImportRun(pk=1, contract=contract, job_state="running", job_total=0, job_done=0)
    html = render_to_string("intake/_progress.html", {"run": run})
    assert "<progress aria-label" in html and "約" not in html and 'value="' not in html


@pytest.mark.parametrize(
    "field, words",
    [
        ("checked_handler", "取扱者を確認した"),
        ("checked_content", "内容を確認した"),
        ("checked_count", "件数を確認した"),
    ],
)
def test_an_unticked_confirmation_says_what_to_confirm(field, words):
    from genchi.transfer.forms import ConfirmForm

    form = ConfirmForm({"code": "x", "record_count": "1"})
    assert not form.is_valid()
    message = form.errors[field][0]
    assert words in message and "このフィールドは必須です" not in message


def test_large_buffers_go_back_to_the_system_where_glibc_runs():
    import platform

    from genchi.core.memory import return_large_buffers

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert return_large_buffers() is True


def test_the_kept_file_is_let_go_before_its_rows_are_proven(client_for, contract, good_csv):
    """The run's ciphertext is not held beside the file while rows are proven, and the
    run is saved without writing the file back."""
    from genchi.intake.services import runs

    run = runs.create_run(contract, good_csv, filename="a.csv")
    seen = []
    prove = runs._prove

    def watching(run, data, **kwargs):
        seen.append("payload" in run.__dict__)
        return prove(run, data, **kwargs)

    import unittest.mock

    with unittest.mock.patch.object(runs, "_prove", watching):
        runs.check_run(run)
    assert seen == [False]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED and bytes(run.payload)  # still kept

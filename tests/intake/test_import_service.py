"""The import service: reading, validation, all-or-nothing, duplicates, encryption at rest."""

from __future__ import annotations

import io
import json

import pytest
from django.db import connection

from genchi.audit.models import AuditEntry
from genchi.core.formulas import neutralise_formula
from genchi.intake.demo_data import to_csv_bytes, to_xlsx_bytes
from genchi.intake.models import Case
from genchi.intake.services import ImportOptions, check_file, import_file
from genchi.intake.validation import clean_postal_code, parse_tax_year

from .conftest import csv_bytes, row

pytestmark = pytest.mark.django_db


def messages(report) -> str:
    return " ".join([report.message, *(i.message for i in report.issues)])


def test_good_cp932_file_is_stored_encrypted(contract, good_csv, taxpayers):
    run, report = import_file(contract, good_csv, filename="list.csv")
    assert report.stored, messages(report)
    assert report.encoding == "cp932"
    assert report.imported == len(taxpayers) == Case.objects.filter(contract=contract).count()
    case = Case.objects.filter(contract=contract).order_by("source_row").first()
    assert case.name.replace("\u3000", " ") == taxpayers[0]["氏名"].replace("\u3000", " ")
    assert case.geocode_level == 3 and case.pref and case.city
    assert json.loads(case.ward_notes)["amount_owed"] > 0
    assert AuditEntry.objects.filter(action="intake.import.committed").exists()


def test_raw_database_holds_no_plaintext(contract, taxpayers):
    data = to_csv_bytes(taxpayers[:10], encoding="utf-8")
    _run, report = import_file(contract, data, filename="x.csv")
    assert report.stored
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM intake_case")
        dump = repr(cur.fetchall())
        cur.execute("SELECT * FROM intake_importrun")
        dump += repr(cur.fetchall())
    for person in taxpayers[:10]:
        family = person["氏名"].split()[0].split("\u3000")[0]
        assert family not in dump
        assert person["住所"][-8:] not in dump
        assert person["宛名番号"] not in dump


def test_utf8_bom_crlf_and_quoted_line_breaks(contract):
    rows = [
        row(notes="一行目\n二行目"),
        row(name="佐藤 花子", number="1002", address="横浜市中区山下町1-1", postal="231-0023"),
    ]
    data = b"\xef\xbb\xbf" + csv_bytes(rows)
    report = check_file(contract, data)
    assert report.encoding == "utf-8-sig"
    assert report.error_rows == 0, messages(report)
    assert report.total_rows == 2


def test_xlsx_named_sheet(contract, taxpayers):
    data = to_xlsx_bytes(taxpayers[:5], sheet="対象者")
    report = check_file(contract, data, filename="a.xlsx", options=ImportOptions(sheet="対象者"))
    assert report.file_format == "xlsx" and report.good_rows + report.warning_rows == 5
    missing = check_file(contract, data, filename="a.xlsx", options=ImportOptions(sheet="なし"))
    assert missing.refused and "シート" in missing.message


def test_encoding_override(contract):
    data = csv_bytes([row()], encoding="cp932")
    assert check_file(contract, data, options=ImportOptions(encoding="cp932")).error_rows == 0
    wrong = check_file(contract, data, options=ImportOptions(encoding="utf-8"))
    assert wrong.refused and "文字コード" in wrong.message


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"", "a.csv", "空"),
        (b"   \r\n", "a.csv", "空"),
        ("宛名番号,氏名,住所\r\n".encode(), "a.csv", "データ行がありません"),
        (
            "氏名,住所,好きな色\r\n山田,東京都世田谷区太子堂4-1-1,青\r\n".encode(),
            "a.csv",
            "不明な列",
        ),
        ("名前だけ\r\n山田\r\n".encode(), "a.csv", "必須の列"),
        (b"\x00\x01\x02\xff\xfe\x00binary\x00junk", "a.csv", "CSV"),
        (bytes(range(128, 256)) * 20, "a.csv", "文字コード"),
        ("氏名,住所\r\n".encode("utf-16"), "a.csv", "UTF-16"),
        (b"PK\x03\x04truncated-zip-data", "a.xlsx", "壊れて"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "a.xls", ".xls"),
        (b"not really excel", "a.xlsx", "Excel"),
        ('氏名,住所\r\n"山田,東京都\r\n'.encode(), "a.csv", ""),
    ],
    ids=[
        "empty",
        "blank",
        "header-only",
        "unknown-column",
        "missing-required",
        "binary",
        "unknown-encoding",
        "utf16",
        "truncated-zip",
        "xls",
        "fake-xlsx",
        "unclosed-quote",
    ],
)
def test_hostile_files_are_refused_whole(contract, data, filename, expected):
    run, report = import_file(contract, data, filename=filename)
    assert report.refused and not report.stored
    assert report.message or report.errors
    assert expected in messages(report)
    assert Case.objects.count() == 0
    assert AuditEntry.objects.filter(action="intake.import.refused", object_id=str(run.pk)).exists()
    payload = report.to_json()
    assert payload["imported"] == 0 and payload["errors"]


def test_truncated_real_xlsx_is_refused(contract, taxpayers):
    data = to_xlsx_bytes(taxpayers[:20])
    _run, report = import_file(contract, data[: len(data) // 2], filename="cut.xlsx")
    assert report.refused and "Excel" in report.message
    assert Case.objects.count() == 0


def test_zip_bomb_is_refused(contract):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * 20_000_000)
    report = check_file(contract, buffer.getvalue(), filename="bomb.xlsx")
    assert report.refused and "圧縮率" in report.message


def test_mixed_file_stores_nothing_then_exclusion_stores_the_rest(contract):
    rows = [
        row(number="1"),
        row(number="2", name='=HYPERLINK("http://x")'),
        row(number="3", name="鈴木 一郎", address="東京都新宿区西新宿2-8-1", postal="163-8001"),
        row(number="4", name="田中\x07次郎", address="大阪府大阪市北区梅田1-1", postal=""),
        row(number="5", name="伊藤 " + "長" * 300, address="札幌市中央区北一条西2-1"),
        row(number="6", name="高橋 三郎", postal="12-345"),
        row(number="7", name="", address="東京都世田谷区太子堂4-1-1"),
        row(number="8", name="中村 四郎", postal="100-0001"),
        row(number="9", name="小林 五郎", address="+81東京都"),
        row(number="10", name="加藤 六郎", building="@SUM(A1)"),
        row(number="11", name="吉田 七郎", amount="たくさん"),
        row(number="12", name="木村 八郎", postal="999-9999"),
    ]
    data = csv_bytes(rows)
    _run, report = import_file(contract, data)
    assert not report.stored and report.refused
    assert Case.objects.count() == 0
    by_row = {}
    for issue in report.errors:
        by_row.setdefault(issue.row, []).append(issue)
    assert 2 not in by_row  # row 1 of data is the good one (file row 2)
    assert "数式" in by_row[3][0].message
    assert "区内" in by_row[4][0].message
    assert "制御文字" in by_row[5][0].message
    assert "長すぎ" in by_row[6][0].message
    assert "形式" in by_row[7][0].message
    assert "必須" in by_row[8][0].message and by_row[8][0].column == "氏名"
    assert "一致しません" in by_row[9][0].message
    assert "数式" in by_row[10][0].message
    assert "数式" in by_row[11][0].message and by_row[11][0].column == "方書"
    assert "滞納額" in by_row[12][0].message
    assert "存在しない" in by_row[13][0].message
    assert report.error_rows == 11

    excluded = frozenset(report.error_row_numbers)
    _run, second = import_file(contract, data, options=ImportOptions(exclude_rows=excluded))
    assert second.stored and second.imported == 1 and second.excluded_rows == 11


def test_missing_postal_code_is_filled_with_a_warning(contract):
    _run, report = import_file(contract, csv_bytes([row(postal="")]))
    assert report.stored and report.warning_rows == 1
    assert "補いました" in report.warnings[0].message
    assert Case.objects.get().postal_code == "154-0004"


def test_postal_code_forms(contract):
    for form in ("〒154-0004", "１５４－０００４", "1540004", "154 0004"):
        assert clean_postal_code(form) == "1540004"
    assert clean_postal_code("154-00") is None


def test_town_not_found_is_a_warning_with_manual_fix(contract):
    report = check_file(
        contract, csv_bytes([row(address="東京都世田谷区存在しない町99", postal="")])
    )
    assert report.error_rows == 0
    assert any("手修正" in w.message for w in report.warnings)


def test_unreadable_address_says_why_once(contract):
    report = check_file(contract, csv_bytes([row(address="ほげほげ", postal="")]))
    (issue,) = [i for i in report.errors if i.column == "住所"]
    assert issue.message.startswith("住所として読み取れません。都道府県か市区町村から")
    assert issue.message.count("読み取れません") == 1


def test_duplicates_in_file_and_reimport(contract):
    rows = [row(number="1"), row(number="2", name="山田　太郎"), row(number="3", name="別人 花子")]
    _run, first = import_file(contract, csv_bytes(rows))
    assert first.stored and first.imported == 2 and first.duplicate_rows == 1
    assert any("2 行目と同じ" in w.message for w in first.duplicates)
    _run, again = import_file(contract, csv_bytes(rows))
    assert again.stored and again.imported == 0 and again.duplicate_rows == 3
    assert Case.objects.count() == 2


def test_manual_mapping_and_unknown_column_ignored(contract):
    header = ["番号", "お名前", "宛先", "好きな色"]
    data = csv_bytes([["1", "山田 太郎", "東京都世田谷区太子堂4-1-1", "青"]], header=header)
    assert check_file(contract, data).refused
    mapping = {"番号": "taxpayer_no", "お名前": "name", "宛先": "address", "好きな色": "_ignore"}
    report = check_file(contract, data, options=ImportOptions(mapping=mapping))
    assert not report.refused and report.warning_rows == 1


def test_header_synonyms(contract):
    header = ["納税者番号", "氏　名", "カナ", "〒", "現住所", "建物名", "滞納金額", "年度", "メモ"]
    report = check_file(contract, csv_bytes([row()], header=header))
    assert not report.refused and report.good_rows == 1


def test_building_split_from_address(contract):
    _run, report = import_file(
        contract, csv_bytes([row(address="東京都世田谷区太子堂4-1-1 サンハイツ101")])
    )
    assert report.stored
    case = Case.objects.get()
    assert case.building_line == "サンハイツ101"
    assert case.address == "東京都世田谷区太子堂4-1-1"


def test_export_neutralisation_and_era_years():
    assert neutralise_formula("=1+1") == "'=1+1"
    assert neutralise_formula("＋81") == "'＋81"
    assert neutralise_formula("山田") == "山田"
    assert parse_tax_year("令和5") == 2023
    assert parse_tax_year("H30年度") == 2018
    assert parse_tax_year("r元年度") == parse_tax_year("令和元") == 2019
    assert parse_tax_year("昭和63年") == 1988
    assert parse_tax_year("二〇二三") is None


@pytest.mark.parametrize(
    "text", ["a\u200bb", "a\u202eb", "\ufeffa", "a\tb", "a\x07", "a\u2028b", "a\ue000"]
)
def test_control_and_format_characters_are_caught(text):
    from genchi.intake.validation import has_control_chars

    assert has_control_chars(text)


def test_newlines_allowed_only_where_asked():
    from genchi.intake.validation import has_control_chars

    assert not has_control_chars("一行目\n二行目\t", allow_newlines=True)
    assert has_control_chars("a\x07", allow_newlines=True)
    assert not has_control_chars("山田　太郎 ｶﾅ ①")


def test_demo_step_imports_600_and_seals_500(db):
    from genchi.intake.demo_data import demo_step
    from genchi.intake.models import Batch
    from genchi.parties.demo import create_demo_parties

    create_demo_parties()
    demo_step()
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.SEALED and batch.items.count() == 500
    assert Case.objects.count() == 600


def test_excel_number_postal_code_gets_its_leading_zero(contract):
    data = csv_bytes([row(address="北海道札幌市中央区大通西1丁目", postal="600042")])
    report = check_file(contract, data)
    assert report.error_rows == 0, messages(report)
    assert any("先頭の 0" in w.message for w in report.warnings)

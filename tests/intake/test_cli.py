"""`genchi cases import` and `genchi batch list`: exit codes and the --json shape."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from genchi.intake.models import Batch, Case

from .conftest import csv_bytes, row

pytestmark = pytest.mark.django_db


def run_cli(*args) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command(*args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def test_import_json_stored_and_reimport(contract, tmp_path, good_csv, taxpayers):
    path = tmp_path / "list.csv"
    path.write_bytes(good_csv)
    code, out = run_cli("cases", "import", str(path), "--json")  # one active contract
    assert code == 0
    payload = json.loads(out)
    assert payload["imported"] == len(taxpayers)
    assert payload["duplicates"] == 0 and payload["errors"] == []
    assert isinstance(payload["warnings"], int)
    code, out = run_cli("cases", "import", str(path), "--json", "--contract", contract.code)
    assert code == 0
    again = json.loads(out)
    assert again["imported"] == 0 and again["duplicates"] == len(taxpayers)


def test_import_refused_json_lists_errors(contract, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([row(), row(number="2", name="@SUM(1)")]))
    code, out = run_cli("cases", "import", str(path), "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["imported"] == 0
    assert payload["errors"] == [
        {"row": 3, "column": "氏名", "message": payload["errors"][0]["message"]}
    ]
    assert Case.objects.count() == 0
    code, _out = run_cli("cases", "import", str(path), "--exclude-rows", "3")
    assert code == 0 and Case.objects.count() == 1


def test_hostile_file_json_and_exit_1(contract, tmp_path):
    path = tmp_path / "junk.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    code, out = run_cli("cases", "import", str(path), "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["errors"][0]["row"] is None and "Excel" in payload["errors"][0]["message"]


def test_dry_run_stores_nothing(contract, tmp_path, good_csv):
    path = tmp_path / "list.csv"
    path.write_bytes(good_csv)
    code, out = run_cli("cases", "import", str(path), "--dry-run", "--json")
    assert code == 0 and json.loads(out)["status"] == "checked"
    assert Case.objects.count() == 0


def test_usage_errors_exit_2(contract, tmp_path, ward, contractor):
    assert run_cli("cases", "import", str(tmp_path / "missing.csv"))[0] == 2
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([row()]))
    assert run_cli("cases", "import", str(path), "--contract", "nope")[0] == 2
    assert run_cli("cases", "import", str(path), "--exclude-rows", "x")[0] == 2
    assert run_cli("cases", "import", str(path), "--map", "a=nonsense")[0] == 2
    from genchi.parties import services

    other = services.create_contract(
        code="c2",
        title="別契約",
        ward=ward,
        contractor=contractor,
        fiscal_year=2026,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        status="active",
    )
    assert other.pk
    assert run_cli("cases", "import", str(path))[0] == 2  # two active contracts: ambiguous


def test_batch_create_seal_and_list_json(contract, tmp_path, good_csv):
    path = tmp_path / "list.csv"
    path.write_bytes(good_csv)
    run_cli("cases", "import", str(path))
    contract.max_cases = 10
    contract.save()
    code, out = run_cli("batch", "create", "--json", "--seal", "--title", "CLI")
    assert code == 0 and json.loads(out)["cases"] == 10
    code, out = run_cli("batch", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["status"] == "sealed" and rows[0]["cases"] == 10 and rows[0]["max_cases"] == 10
    assert Batch.objects.get().items.count() == 10


def test_oversized_file_is_refused_without_reading_it_whole(contract, tmp_path, monkeypatch):
    from genchi.intake import reader

    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 1024)
    monkeypatch.setattr("genchi.intake.management.commands.cases.MAX_FILE_BYTES", 1024)
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([row()]) + b"x" * 10_000)
    code, out = run_cli("cases", "import", str(path), "--json")
    assert code == 1 and "大きすぎます" in json.loads(out)["errors"][0]["message"]
    assert Case.objects.count() == 0


def test_absurd_exclusion_range_is_a_usage_error(contract, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([row()]))
    assert run_cli("cases", "import", str(path), "--exclude-rows", "1-999999999999")[0] == 2


def test_generate_writes_cp932_csv_and_xlsx_that_import_cleanly(contract, tmp_path):
    code, out = run_cli("cases", "generate", "30", "--out", str(tmp_path))
    assert code == 0 and "30 人" in out
    csv_path = tmp_path / "taxpayers-30.csv"
    xlsx_path = tmp_path / "taxpayers-30.xlsx"
    csv_path.read_bytes().decode("cp932")  # really CP932
    assert xlsx_path.read_bytes()[:2] == b"PK"
    code, out = run_cli("cases", "import", str(xlsx_path), "--json", "--dry-run")
    assert code == 0 and json.loads(out)["errors"] == []
    assert run_cli("cases", "generate", "0")[0] == 2

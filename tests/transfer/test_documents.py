"""Slip and ledger documents: PDF with embedded fonts, XLSX without live formulas."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import openpyxl
import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.transfer import ledger, services
from genchi.transfer.ledger_docs import ledger_pdf, ledger_xlsx, safe_cell
from genchi.transfer.models import StickEvent
from genchi.transfer.slip_docs import slip_pdf
from tests.core.test_pdf import fonts_embedded


@pytest.fixture
def round_trip(sealed_batch, lent_stick, tmp_path, people):
    out = tmp_path / "stick"
    out.mkdir()
    exported = services.export_batch(
        sealed_batch, out, by=people[Role.WARD_STAFF], stick=lent_stick
    )
    imported = services.import_cases_package(
        exported.path, by=people[Role.MANAGER], giver_name="戸山 花子"
    )
    services.confirm_slip(
        imported.slip, code=imported.slip.qr_text, record_count=3, by=people[Role.MANAGER]
    )
    ledger.return_stick(lent_stick, by=people[Role.WARD_STAFF])
    ledger.wipe_stick(
        lent_stick,
        method=StickEvent.WipeMethod.OVERWRITE_DELETE,
        folder=out,
        by=people[Role.WARD_STAFF],
    )
    return exported, imported


def test_slip_pdfs(round_trip, tmp_path):
    exported, imported = round_trip
    for slip in (exported.slip, imported.slip):
        data = slip_pdf(slip)
        assert data.startswith(b"%PDF")
        assert any("BIZUDGothic" in n for n in fonts_embedded(data, tmp_path))
        (tmp_path / f"slip-{slip.number}.pdf").write_bytes(data)
    for secret in ("山田".encode("utf-16-be"), "山田".encode()):
        assert secret not in slip_pdf(exported.slip)


def test_ledger_pdf_and_xlsx(round_trip, ward, tmp_path, people):
    overdue = ledger.register_stick(
        ward, label="USB-02", serial="=cmd|' /C calc'!A0", capacity_gb=8
    )
    ledger.lend_stick(overdue, borrower_name="@落合", due_on=timezone.localdate())
    type(overdue.loans.get()).objects.filter(stick=overdue).update(
        due_on=timezone.localdate() - dt.timedelta(days=2)
    )
    data = ledger_pdf(ward)
    assert data.startswith(b"%PDF")
    assert any("BIZUDGothic" in n for n in fonts_embedded(data, tmp_path))
    (tmp_path / "ledger.pdf").write_bytes(data)

    book = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(ward)))
    assert book.sheetnames == ["一覧", "記録", "注記"]
    values = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    texts = [v for v in values if isinstance(v, str)]
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@"))]
    assert "'=cmd|' /C calc'!A0" in texts
    assert any(t.startswith("'@落合") for t in texts)
    assert "超過" in texts
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"


def test_safe_cell():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+81") == "'+81"
    assert safe_cell("-x") == "'-x"
    assert safe_cell("@a") == "'@a"
    assert safe_cell("普通") == "普通"
    assert safe_cell(3) == 3


def test_official_documents_stay_japanese_for_an_english_user(round_trip, ward, tmp_path):
    """The page may be in English; the ledger and slips it prints are not: choice labels
    and custodian words inside come out in Japanese."""
    from django.utils import translation

    with translation.override("en"):
        [row] = ledger.ledger_rows(ward)
        assert row.custodian.endswith("(in storage)")  # the page's words
        book = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(ward)))
        exported, _imported = round_trip
        slip = slip_pdf(exported.slip)
    texts = {c.value for ws in book.worksheets for r in ws.iter_rows() for c in r}
    wipe_method = str(StickEvent.WipeMethod.OVERWRITE_DELETE.label)
    assert any(isinstance(t, str) and wipe_method in t for t in texts)
    assert any(isinstance(t, str) and t.endswith("(保管庫)") for t in texts)
    assert not any(isinstance(t, str) and "in storage" in t for t in texts)
    if shutil.which("pdftotext"):
        (tmp_path / "slip.pdf").write_bytes(slip)
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "slip.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert "区 → 受託者" in text and "Ward" not in text
    assert slip.startswith(b"%PDF")

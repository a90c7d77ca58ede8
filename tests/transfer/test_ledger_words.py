"""Issue 13, items 10 and 11: one rule names a stick's state everywhere (the ledger page,
the stick's page, the ledger PDF and XLSX), and ledger lines are stored as codes and
values, put into words in the reader's language when shown."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import openpyxl
import pytest
from django.utils import timezone, translation

from genchi.accounts.models import Role
from genchi.transfer import ledger, ledger_text, services
from genchi.transfer.ledger import StickState
from genchi.transfer.ledger_docs import ledger_pdf, ledger_xlsx
from genchi.transfer.models import StickEvent
from tests import scratch_db


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def _make_state(state, stick, sealed_batch, people, contractor, tmp_path):
    """Bring `stick` into `state` through the ledger's own steps."""
    staff = people[Role.WARD_STAFF]
    due = timezone.localdate() + dt.timedelta(days=3)
    if state == StickState.AVAILABLE:
        return
    if state == StickState.RETIRED:
        ledger.wipe_stick(stick, method=StickEvent.WipeMethod.DESTROYED, by=staff)
        return
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    services.export_batch(sealed_batch, out, by=staff, stick=stick)
    if state == StickState.AWAITING_HANDOVER:
        return
    ledger.lend_stick(stick, borrower_name="高田 誠", borrower_org=contractor, due_on=due, by=staff)
    if state == StickState.LENT:
        return
    ledger.return_stick(stick, by=staff)  # AWAITING_WIPE


def _pdf_text(data: bytes, tmp_path) -> str:
    (tmp_path / "l.pdf").write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "l.pdf"), "-"], capture_output=True, text=True
    ).stdout


@pytest.mark.parametrize("state", list(StickState))
def test_every_view_of_the_ledger_names_the_same_state(
    state, stick, sealed_batch, people, contractor, ward, client_for, tmp_path
):
    _make_state(state, stick, sealed_batch, people, contractor, tmp_path)
    stick.refresh_from_db()
    assert ledger.stick_state(stick) == state
    label = str(state.label)
    others = [str(s.label) for s in StickState if s != state]
    staff = client_for(Role.WARD_STAFF)

    listing = staff.get("/usb/").content.decode()
    row = listing.split(f"/usb/{stick.pk}/", 1)[1].split("</tr>", 1)[0]
    assert f'data-stick-state="{state.value}">{label}<' in row
    page = staff.get(f"/usb/{stick.pk}/").content.decode()
    heading = page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert f'data-stick-state="{state.value}">{label}<' in heading
    assert not [o for o in others if f">{o}<" in heading]

    book = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(ward)))
    sheet = book["一覧"]
    column = [c.value for c in sheet[1]].index("状態")
    assert sheet.cell(row=2, column=column + 1).value == label

    if shutil.which("pdftotext"):
        text = _pdf_text(ledger_pdf(ward), tmp_path)
        line = next(x for x in text.splitlines() if x.strip().startswith(stick.label))
        assert label in line and not [o for o in others if o in line]


def test_ledger_lines_are_shown_in_the_readers_language(
    stick, sealed_batch, people, contractor, client_for, tmp_path
):
    _make_state(StickState.AWAITING_WIPE, stick, sealed_batch, people, contractor, tmp_path)
    events = list(stick.events.order_by("at", "id"))
    assert [e.text_code for e in events] == [
        ledger_text.REGISTERED,
        ledger_text.WRITTEN_FOLDER,
        ledger_text.LENT,
        ledger_text.RETURNED,
    ]
    assert all(not e.note for e in events)  # no stored words, only codes and values
    page = client_for(Role.WARD_STAFF).get(f"/usb/{stick.pk}/").content.decode()
    assert (
        "製造番号 SN-0001 / 16GB" in page and "高田 誠(テストサービサー株式会社) 返却予定" in page
    )
    client = client_for(Role.WARD_STAFF)
    client.post("/language/", {"language": "en", "next": "/"})
    english = client.get(f"/usb/{stick.pk}/").content.decode()
    assert "Serial SN-0001 / 16 GB" in english
    assert "written to USB stick USB-01 plugged into this machine" in english
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    assert f"高田 誠(テストサービサー株式会社), due back {due}" in english
    assert "Returned by 高田 誠" in english
    assert "返却予定" not in english and "製造番号" not in english
    # The printed ledger stays Japanese, whatever the reader's language.
    with translation.override("en"):
        book = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(stick.owner)))
    texts = [c.value for r in book["記録"].iter_rows(min_row=2) for c in r]
    assert any(isinstance(t, str) and t.startswith("製造番号 SN-0001") for t in texts)


def test_a_person_s_words_stay_as_typed_after_genchi_s(stick, people):
    staff = people[Role.WARD_STAFF]
    ledger.lend_stick(stick, borrower_name="高田 誠", due_on=timezone.localdate(), by=staff)
    # Due yesterday: the return is overdue.
    type(stick.loans.get()).objects.update(due_on=timezone.localdate() - dt.timedelta(days=1))
    ledger.return_stick(stick, by=staff, note="封印シールに傷")
    returned = stick.events.get(kind=StickEvent.Kind.RETURNED)
    assert returned.note == "封印シールに傷"
    assert returned.text == "返却者 高田 誠 期限超過 封印シールに傷"
    with translation.override("en"):
        assert returned.text == "Returned by 高田 誠 Overdue 封印シールに傷"


def test_old_rows_get_codes_and_unknown_ones_stay_readable(tmp_path, django_db_blocker):
    """Migration 0009: lines whose stored Japanese it recognises get their code and
    values; a person's words after them stay; anything else is shown as stored."""
    with django_db_blocker.unblock(), scratch_db.database(tmp_path / "m.sqlite3") as alias:
        old = scratch_db.migrate(alias, [("transfer", "0008_delivery_and_ledger_codes")])
        objects, person, ward, firm, contract = scratch_db.a_contract(old, alias, username="u")
        stick = objects("transfer.UsbStick").create(
            owner=ward, label="USB-1", serial="S-1", capacity_gb=8
        )
        day = dt.date(2026, 12, 1)
        loan = objects("transfer.StickLoan").create(
            stick=stick, borrower_name="高田 誠", borrower_org=firm, due_on=day,
            returned_by_name="高田 誠",
        )  # fmt: skip
        notes = {
            "registered": "製造番号 S-1 / 8GB",
            "lent": "高田 誠(社) 返却予定 令和8年12月1日",
            "written": "調査対象者データ 3件",
            "returned": "返却者 高田 誠 期限超過 封印に傷",
            "wiped": "Genchi パッケージ 2 件を上書き削除",
            "inspected": "金庫内、異常なし",
        }
        ids = {
            kind: objects("transfer.StickEvent")
            .create(stick=stick, kind=kind, note=note, loan=loan if kind in ("lent", "returned") else None)
            .pk
            for kind, note in notes.items()
        }  # fmt: skip
        new = scratch_db.migrate(alias, [("transfer", "0009_ledger_lines_as_codes")])
        rows = {
            kind: new.get_model("transfer.StickEvent").objects.using(alias).get(pk=pk)
            for kind, pk in ids.items()
        }
        assert rows["registered"].text_params == {"serial": "S-1", "capacity_gb": 8}
        assert rows["lent"].text_params == {"borrower": "高田 誠", "org": "社", "due": "2026-12-01"}
        assert rows["written"].text_params["count"] == 3
        assert rows["returned"].text_params == {"returned_by": "高田 誠", "overdue": True}
        assert rows["returned"].note == "封印に傷"
        assert rows["wiped"].text_code == "wiped_files" and rows["wiped"].note == ""
        assert rows["inspected"].text_code == "" and rows["inspected"].note == "金庫内、異常なし"
        # Rendered now, as a page would.
        for kind, row in rows.items():
            words = ledger_text.render(row.text_code, row.text_params)
            shown = f"{words} {row.note}".strip() if words else row.note
            assert shown == notes[kind]
        # And back: the words the old code wrote.
        back = scratch_db.migrate(alias, [("transfer", "0008_delivery_and_ledger_codes")])
        event = back.get_model("transfer.StickEvent").objects.using(alias).get(pk=ids["returned"])
        assert event.note == "返却者 高田 誠 期限超過 封印に傷" and event.text_code == ""

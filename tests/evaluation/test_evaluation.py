"""Follow-up after the contact slip and the yearly evaluation (J2): figures on known data,
year over year, the import of the tax system's file (all or nothing, errors by row and
column) and the pages."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.evaluation import selectors, services
from genchi.evaluation.models import FollowUpContact
from genchi.parties import services as parties
from genchi.parties.models import Contract

from .world import KNOWN, results

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(people, contract):
    return [r.case_ref for r in results(contract, KNOWN)]


def _csv(lines: list[str], encoding: str = "cp932") -> bytes:
    return ("参照番号,接触日,接触方法,金額\r\n" + "".join(f"{x}\r\n" for x in lines)).encode(
        encoding
    )


def _day() -> str:
    return (timezone.localdate() - dt.timedelta(days=1)).isoformat()


def test_the_figures_on_known_data(people, contract, known):
    staff = people[Role.WARD_STAFF]
    parties.update_contract(contract, amount=1_000_000)
    day = _day()
    services.import_contacts(
        staff,
        contract,
        _csv(
            [
                f"{known[0]},{day},電話,",
                f"{known[0]},{day},納付,30000",
                f"{known[3]},{day},来庁,",
                f"{known[6]},{day},納付,20000",
                # no slip was left with this one: not a contact after the slip
                f"{known[2]},{day},納付,99999",
            ]
        ),
        filename="contacts.csv",
    )
    f = selectors.figures(Contract.objects.get(pk=contract.pk))
    assert (f.cases, f.confirmed, f.resident, f.slips_left) == (10, 3, 6, 6)
    assert (f.contacted, f.payments, f.collected) == (3, 2, 50_000)
    assert f.confirmed_rate == pytest.approx(0.3)
    assert f.resident_rate == pytest.approx(0.6)
    assert f.contact_rate == pytest.approx(0.5)
    assert f.cost_per_case == pytest.approx(100_000)
    assert f.cost_per_yen == pytest.approx(20.0)


def test_no_amount_no_cost_figures(people, contract, known):
    f = selectors.figures(contract)
    assert f.cost is None and f.cost_per_case is None and f.cost_per_yen is None
    assert f.contact_rate == 0


def test_year_over_year_sums_each_fiscal_year(people, contract, known, ward, contractor):
    earlier = parties.create_contract(
        code="c2025",
        title="令和7年度 居住実態調査",
        ward=ward,
        contractor=contractor,
        fiscal_year=2025,
        starts_on=dt.date(2025, 6, 1),
        ends_on=dt.date(2025, 10, 31),
        status=Contract.Status.CLOSED,
        amount=500_000,
    )
    refs = [r.case_ref for r in results(earlier, KNOWN[:4])]
    services.import_contacts(
        people[Role.WARD_STAFF], earlier, _csv([f"{refs[0]},2025-11-04,納付,10000"])
    )
    evaluation = selectors.evaluation_for(people[Role.WARD_AUDITOR])
    assert [y.fiscal_year for y in evaluation.years] == [2025, 2026]
    first, second = evaluation.years
    assert (first.cases, first.collected, first.cost) == (4, 10_000, 500_000)
    assert first.cost_per_yen == pytest.approx(50.0)
    assert second.cases == 10 and second.cost is None  # 2026's amount is not entered
    assert selectors.evaluation_for(people[Role.MANAGER]).years == []


def test_an_import_in_utf8_with_bom_and_again_counts_once(people, contract, known):
    staff = people[Role.WARD_STAFF]
    data = _csv([f"{known[1]},{_day()},電話,"], "utf-8-sig")
    first = services.import_contacts(staff, contract, data, filename="a.csv")
    again = services.import_contacts(staff, contract, data, filename="a.csv")
    assert (first.added, first.already, again.added, again.already) == (1, 0, 0, 1)
    assert FollowUpContact.objects.count() == 1
    assert AuditEntry.objects.filter(action="followup.imported").count() == 2


def test_an_xlsx_of_the_tax_system_with_wareki_and_date_cells(people, contract, known):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["案件参照番号", "連絡日", "区分", "納付額"])
    ws.append([known[0], timezone.localdate() - dt.timedelta(days=2), "納付", 12000])
    ws.append([known[3], "R8.7.1", "電話", None])
    out = io.BytesIO()
    wb.save(out)
    outcome = services.import_contacts(
        people[Role.WARD_STAFF], contract, out.getvalue(), filename="tax.xlsx"
    )
    assert outcome.added == 2
    assert FollowUpContact.objects.get(case_ref=known[3]).contacted_on == dt.date(2026, 7, 1)
    assert FollowUpContact.objects.get(case_ref=known[0]).amount == 12000


def test_one_bad_row_refuses_the_whole_file_naming_row_and_column(people, contract, known):
    lines = [
        f"{known[0]},{_day()},電話,",  # row 2: fine
        f"no-such-ref,{_day()},電話,",  # row 3
        f"{known[1]},2026-13-01,電話,",  # row 4
        f"{known[1]},{_day()},手紙,",  # row 5
        f"{known[1]},{_day()},納付,",  # row 6: a payment without an amount
        f"{known[1]},{_day()},電話,1000",  # row 7: an amount on a call
        f"{known[1]},2099-01-01,電話,",  # row 8: the future
    ]
    with pytest.raises(services.FollowUpRefused) as refused:
        services.import_contacts(people[Role.WARD_STAFF], contract, _csv(lines))
    errors = refused.value.errors
    assert errors[0].startswith("3 行目「参照番号」") and "no-such-ref" in errors[0]
    assert errors[1].startswith("4 行目「接触日」")
    assert errors[2].startswith("5 行目「接触方法」")
    assert errors[3].startswith("6 行目「金額」")
    assert errors[4].startswith("7 行目「金額」")
    assert errors[5].startswith("8 行目「接触日」") and "未来" in errors[5]
    assert not FollowUpContact.objects.exists()  # row 2 was not stored either
    refusal = AuditEntry.objects.get(action="followup.import_refused")
    assert refusal.detail["errors"] == 6


def test_a_file_without_the_needed_columns_or_unreadable_is_refused(people, contract, known):
    staff = people[Role.WARD_STAFF]
    with pytest.raises(services.FollowUpRefused) as refused:
        services.import_contacts(staff, contract, "参照番号,金額\r\nx,1\r\n".encode())
    assert "接触日" in refused.value.errors[0] and "接触方法" in refused.value.errors[0]
    with pytest.raises(services.FollowUpRefused) as refused:
        services.import_contacts(staff, contract, b"")
    assert "空" in refused.value.errors[0]
    assert not FollowUpContact.objects.exists()


def test_a_case_without_a_result_of_this_contract_is_not_followed_up(
    people, contract, known, ward, contractor
):
    other = parties.create_contract(
        code="c-other",
        title="別契約",
        ward=ward,
        contractor=contractor,
        fiscal_year=2026,
        starts_on=dt.date(2026, 6, 1),
        ends_on=dt.date(2027, 3, 31),
    )
    with pytest.raises(services.FollowUpRefused):
        services.import_contacts(
            people[Role.WARD_STAFF], other, _csv([f"{known[0]},{_day()},電話,"])
        )


def test_only_ward_writers_record_follow_up(people, contract, known):
    from django.core.exceptions import PermissionDenied

    for role in (Role.WARD_AUDITOR, Role.MANAGER):
        with pytest.raises(PermissionDenied):
            services.import_contacts(people[role], contract, _csv([f"{known[0]},{_day()},電話,"]))
    with pytest.raises(ValidationError):
        services.add_contact(
            people[Role.WARD_STAFF],
            contract,
            case_ref=known[0],
            kind="payment",
            contacted_on=timezone.localdate(),
            amount=0,
        )


def test_the_pages_entry_by_hand_on_the_case_and_the_export(people, contract, known, client_for):
    staff = client_for(Role.WARD_STAFF)
    case_page = f"/cases/{known[0]}/"
    assert "連絡票後の接触" in staff.get(case_page).content.decode()
    response = staff.post(
        f"/evaluation/{contract.code}/contacts/",
        {
            "case_ref": known[0],
            "kind": "payment",
            "contacted_on": _day(),
            "amount": "45000",
            "next": case_page,
        },
    )
    assert response.status_code == 302 and response["Location"] == case_page
    assert "45,000" in staff.get(case_page).content.decode()
    entry = AuditEntry.objects.get(action="followup.recorded")
    assert entry.contract_code == contract.code
    upload = io.BytesIO(_csv([f"bad,{_day()},電話,"]))
    upload.name = "bad.csv"
    refused = staff.post(f"/evaluation/{contract.code}/import/", {"file": upload})
    assert refused.status_code == 400
    assert "2 行目「参照番号」" in refused.content.decode()
    index = client_for(Role.WARD_AUDITOR).get("/evaluation/")
    body = index.content.decode()
    assert index.status_code == 200 and "<svg" in body and "令和8年度" in body
    assert "45,000" in body
    export = client_for(Role.WARD_AUDITOR).get("/evaluation/export.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(export.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "年度" and rows[1][0] == "令和8年度"
    assert rows[1][2] == 10 and rows[1][11] == 45_000

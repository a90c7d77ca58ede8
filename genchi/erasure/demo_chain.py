"""The demo's closed contract: a small contract of the previous fiscal year (令和7年度) run
through the whole chain on the demo installation, both sides hosted here — intake, the
handover, visits, the report and the results back at the ward, then the erasure with the
ward's staff member present (the one-time code, as across installations), the
certificate package verified by the ward and the contract closed."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.utils import timezone

from genchi.accounts.models import User
from genchi.parties import services as parties
from genchi.parties.demo import CONTRACT_CODE
from genchi.parties.models import Contract, Designation

from . import services

CLOSED_CONTRACT_CODE = "shinjuku-2025-kyojuu"
CASE_COUNT = 30


def _previous_year_contract(current: Contract, admin: User, people: dict[str, User]) -> Contract:
    year = current.fiscal_year - 1
    contract = parties.create_contract(
        code=CLOSED_CONTRACT_CODE,
        title="令和7年度 転出滞納者居住実態調査業務委託",
        ward=current.ward,
        contractor=current.contractor,
        fiscal_year=year,
        starts_on=dt.date(year, 6, 1),
        ends_on=dt.date(year + 1, 3, 31),
        max_cases=500,
        status=Contract.Status.ACTIVE,
        contact_department=current.contact_department,
        contact_phone=current.contact_phone,
        contact_hours=current.contact_hours,
    )
    for username, role in (
        ("manager", Designation.Role.MANAGER),
        ("handler", Designation.Role.HANDLER),
        ("surveyor1", Designation.Role.SURVEYOR),
    ):
        parties.designate(
            contract=contract,
            person=people[username],
            role=role,
            starts_on=contract.starts_on,
            by=admin,
            reported_to_ward_on=contract.starts_on,
        )
    return contract


def close_previous_year_contract(write: Callable[[str], None] = print) -> None:
    from genchi.fieldwork import closing
    from genchi.fieldwork import selectors as fieldwork_selectors
    from genchi.fieldwork.demo import RESULT_VISITS, _demo_visit
    from genchi.fieldwork.services import assign_cases, record_visit, review_case
    from genchi.intake import demo_data
    from genchi.intake import services as intake
    from genchi.transfer import contract_keys
    from genchi.transfer import services as transfer

    current = (
        Contract.objects.select_related("ward", "contractor").filter(code=CONTRACT_CODE).first()
    )
    names = ["ward-admin", "ward-staff", "manager", "handler", "surveyor1"]
    people = {u.username: u for u in User.objects.filter(username__in=names)}
    if current is None or len(people) < len(names):
        return
    staff, manager, handler = people["ward-staff"], people["manager"], people["handler"]
    contract = _previous_year_contract(current, people["ward-admin"], people)
    contract_keys.exchange_demo_cards(contract)
    rows = demo_data.generate(CASE_COUNT, seed=2025, exclude_city=contract.ward.home_city)
    _run, report = intake.import_file(
        contract,
        demo_data.to_csv_bytes(rows),
        filename="滞納者一覧_令和7年度.csv",
        options=intake.ImportOptions(),
        channel="system",
    )
    batch = intake.create_batch(contract, title="令和7年度 委託分(デモ・終了済み)")
    intake.add_cases(batch, intake.eligible_cases(contract))
    intake.seal_batch(batch)
    with tempfile.TemporaryDirectory(prefix="genchi-demo-") as folder:
        out = Path(folder)
        sent = transfer.send_item("cases", batch.pk, out, by=staff)
        received = transfer.import_cases_package(sent.path, by=manager)
        package_id = str(received.package.package_id)
        cases = fieldwork_selectors.survey_cases_for(manager, contract).order_by("id")
        assign_cases(contract, [c.case_ref for c in cases], people["surveyor1"], by=manager)
        now = timezone.now().replace(second=0, microsecond=0)
        for n, case in enumerate(
            fieldwork_selectors.survey_cases_for(manager, contract).order_by("id")
        ):
            outcome, seen = RESULT_VISITS[n % len(RESULT_VISITS)]
            at = max(case.created_at, now - dt.timedelta(minutes=CASE_COUNT - n))
            record_visit(case, _demo_visit(outcome, seen, at), [], by=handler)
            review_case(case, approve=True, by=manager)
        closing.build_report(contract, out, by=manager, package_id=package_id)
        (returned,) = closing.return_results(contract, out, by=manager, package_id=package_id)
        transfer.receive_package(returned.path, kind="results", by=staff)
        # The erasure, with the ward's staff member present: the code from the ward's side.
        erasure = services.start_erasure(contract, by=manager)
        code = services.issue_witness_code(contract, erasure.challenge, by=staff)
        erasure = services.confirm_by_code(
            erasure, witness_name=staff.full_name or staff.username, code=code, by=manager
        )
        erasure = services.erase(erasure, by=manager)
        certificate = services.write_certificate_package(erasure, out, by=manager)
        transfer.receive_package(certificate.path, kind="certificate", by=staff)
    contract.refresh_from_db()
    write(
        f"契約の終了: {contract.fiscal_year_label} {CASE_COUNT} 件の契約を消去し、"
        f"区が消去証明書 {str(erasure.certificate_id)[:8]} を検証しました"
        f"(状態: {contract.get_status_display()})。"
    )

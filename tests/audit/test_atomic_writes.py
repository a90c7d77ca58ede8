"""Every write is atomic with its log entry: a change whose entry fails does not stay (D3).

Which services: `logging_services()` (services_that_log.py) walks every module under
`genchi/` with `ast` and lists each public function (and each public method of a public
class) that calls the chain's `record(...)`, directly or through functions or methods of
its own module. That finds a new service the day it is written, wherever it lives, and
the first test below fails until it has a scenario here. Left out, and checked otherwise:

- the log itself (`genchi/audit/chain.py`, `genchi/audit/refusals.py`);
- the HTTP and command-line edge (`views.py`, `middleware.py`, `management/commands/`):
  it logs requests (sign-out, denials, error pages, downloads) and leaves writes to the
  services; the second test checks that no edge function that records also writes
  through the ORM itself.

Each scenario sets up what its service needs (with the log working), then the INSERT of
an audit entry is made to fail at the database cursor, below `record()` and the ORM, so
every importer and every thread is affected whatever shape `record()` takes. The k-th
entry of the call fails, for k = 1 and 2 (a service that writes two entries must undo the
first with the second; with fewer entries, k = 2 is skipped). The call must raise the
failure, and afterwards every table (the audit log's own included) has the same rows, by
count and by content checksum, and every file under the test's folder (the data folder,
the keys, the stick and output folders) is as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.test import RequestFactory, override_settings
from django.utils import timezone
from django_otp.oath import totp

from genchi.accounts import services as accounts
from genchi.accounts.models import Role, User
from genchi.compliance import audits, checklist, incidents
from genchi.compliance.models import ChainCheck, Incident, IncidentEntry
from genchi.compliance.services import request_chain_check, run_chain_check
from genchi.erasure import services as erasure_services
from genchi.evaluation import services as follow_up
from genchi.fieldwork import selectors as fieldwork_selectors
from genchi.fieldwork.forbidden import (
    check_text,
    record_refusal,
    validate_free_text,
)
from genchi.fieldwork.models import SurveyCase
from genchi.fieldwork.services import correct_position, record_visit, review_case
from genchi.intake import selectors as intake_selectors
from genchi.intake import services as intake
from genchi.intake.models import ImportRun
from genchi.jobs import outcomes
from genchi.jobs.models import JobState
from genchi.jobs.runner import JobRun
from genchi.package_format.records import blank_result
from genchi.parties import services as parties
from genchi.parties.models import Designation, Organisation
from genchi.planner import areas_services as areas
from genchi.planner import plans
from genchi.planner.models import CampaignPlan, SurveyorBase
from genchi.tablet import services as tablet
from genchi.tablet.models import UsedNonce
from genchi.transfer import contract_keys, ledger, orgkeys
from genchi.transfer import services as transfer
from genchi.transfer.models import HandoverSlip, StickEvent
from genchi.transfer.services.slips import issue_slip
from genchi.vault import keys as vault_keys
from tests.audit.atomic_world import World
from tests.audit.failing_log import (
    AuditEntryFailed,
    database_snapshot,
    failing_entries,
    files_snapshot,
)
from tests.audit.services_that_log import edge_loggers, logging_services, writes_through_the_orm
from tests.conftest import PASSWORD, current_code
from tests.fieldwork.visits import sample, visit_data

# --- one scenario per service: arrange what it needs, return the call -----------------------


@dataclass(frozen=True)
class Scenario:
    arrange: Callable[[World], Callable[[], Any]]
    # False for a background runner: it must log its failure itself, not raise it.
    raises: bool = True


SCENARIOS: dict[str, Scenario] = {}


def scenario(service: str, **options: Any):
    def register(arrange: Callable[[World], Callable[[], Any]]):
        SCENARIOS[service] = Scenario(arrange, **options)
        return arrange

    return register


@scenario("genchi.parties.services.create_organisation")
def arrange_create_organisation(w: World):
    return lambda: parties.create_organisation(
        code="other-ward", name="中野区 税務課", kind=Organisation.Kind.WARD
    )


@scenario("genchi.parties.services.create_contract")
def arrange_create_contract(w: World):
    return lambda: parties.create_contract(
        code="c2027",
        title="令和9年度 居住実態調査",
        ward=w.ward,
        contractor=w.contractor,
        fiscal_year=2027,
        starts_on=dt.date(2027, 6, 1),
        ends_on=dt.date(2028, 3, 31),
    )


@scenario("genchi.parties.services.update_contract")
def arrange_update_contract(w: World):
    return lambda: parties.update_contract(w.contract, title="変更後の件名", max_cases=400)


@scenario("genchi.parties.services.designate")
def arrange_designate(w: World):
    person = w.person("c-new", w.contractor, Role.HANDLER)
    admin = w.people[Role.WARD_ADMIN]
    return lambda: parties.designate(
        contract=w.contract,
        person=person,
        role=Designation.Role.HANDLER,
        starts_on=w.contract.starts_on,
        by=admin,
    )


@scenario("genchi.parties.services.end_designation")
def arrange_end_designation(w: World):
    designation = Designation.objects.get(person=w.manager)
    return lambda: parties.end_designation(designation, by=designation.by)


@scenario("genchi.parties.services.create_person")
def arrange_create_person(w: World):
    return lambda: parties.create_person(
        username="newcomer",
        full_name="新人",
        organisation=w.ward,
        role=Role.WARD_STAFF,
        password=PASSWORD,
    )


@scenario("genchi.parties.services.update_person")
def arrange_update_person(w: World):
    staff = w.staff
    return lambda: parties.update_person(
        staff, role=Role.WARD_ADMIN, full_name="昇任", is_active=False
    )


def _nearly_locked(w: World) -> User:
    """A person one failure away from the lockout: a failure writes two entries."""
    person = w.person("nearly-locked", w.ward, Role.WARD_STAFF)
    User.objects.filter(pk=person.pk).update(
        failed_sign_ins=django_settings.GENCHI_LOCKOUT_THRESHOLD - 1
    )
    person.refresh_from_db()
    return person


@scenario("genchi.accounts.services.check_password")
def arrange_check_password(w: World):
    person = _nearly_locked(w)
    request = RequestFactory().post("/signin/")
    return lambda: accounts.check_password(request, person.username, "wrong", ip="10.0.0.1")


@scenario("genchi.accounts.services.check_current_password")
def arrange_check_current_password(w: World):
    person = _nearly_locked(w)
    return lambda: accounts.check_current_password(person, "wrong", ip="10.0.0.1")


@scenario("genchi.accounts.services.set_own_password")
def arrange_set_own_password(w: World):
    person = w.person("changing", w.ward, Role.WARD_STAFF)
    User.objects.filter(pk=person.pk).update(must_change_password=True)
    person.refresh_from_db()
    return lambda: accounts.set_own_password(person, "a new one of my own 2026", ip="10.0.0.1")


@scenario("genchi.accounts.services.take_reset_notice")
def arrange_take_reset_notice(w: World):
    staff, admin = w.staff, w.people[Role.WARD_ADMIN]
    accounts.reset_second_factor(staff, by=admin)
    return lambda: accounts.take_reset_notice(staff)


@scenario("genchi.accounts.services.verify_second_factor")
def arrange_verify_second_factor(w: World):
    person = w.person("enrolling", w.ward, Role.WARD_STAFF, device=False)
    device = accounts.pending_device(person)
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    return lambda: accounts.verify_second_factor(person, device, token, ip="10.0.0.1")


@scenario("genchi.accounts.services.reset_second_factor")
def arrange_reset_second_factor(w: World):
    staff, admin = w.staff, w.people[Role.WARD_ADMIN]
    return lambda: accounts.reset_second_factor(staff, by=admin)


@scenario("genchi.accounts.services.unlock")
def arrange_unlock(w: World):
    person = w.person("locked", w.ward, Role.WARD_STAFF)
    User.objects.filter(pk=person.pk).update(
        failed_sign_ins=2, locked_until=timezone.now() + dt.timedelta(minutes=5)
    )
    return lambda: accounts.unlock(person)


@scenario("genchi.intake.selectors.log_case_view")
def arrange_log_case_view(w: World):
    case = w.cases[0]
    return lambda: intake_selectors.log_case_view(case)


@scenario("genchi.intake.selectors.log_case_list_view")
def arrange_log_case_list_view(w: World):
    cases = w.cases
    return lambda: intake_selectors.log_case_list_view(cases, {w.contract.code}, view="list")


@scenario("genchi.intake.services.batches.create_batch")
def arrange_create_batch(w: World):
    staff = w.staff
    return lambda: intake.create_batch(w.contract, title="第2回", user=staff)


@scenario("genchi.intake.services.batches.add_cases")
def arrange_add_cases(w: World):
    batch, cases = w.draft_batch, w.cases
    return lambda: intake.add_cases(batch, cases)


@scenario("genchi.intake.services.batches.fill_by_condition")
def arrange_fill_by_condition(w: World):
    batch, _cases = w.draft_batch, w.cases
    return lambda: intake.fill_by_condition(batch)


@scenario("genchi.intake.services.batches.remove_cases")
def arrange_remove_cases(w: World):
    batch, ids = w.filled_batch, [case.pk for case in w.cases[:2]]
    return lambda: intake.remove_cases(batch, ids)


@scenario("genchi.intake.services.batches.seal_batch")
def arrange_seal_batch(w: World):
    batch, staff = w.filled_batch, w.staff
    return lambda: intake.seal_batch(batch, user=staff)


@scenario("genchi.intake.services.batches.delete_batch")
def arrange_delete_batch(w: World):
    batch = w.filled_batch
    return lambda: intake.delete_batch(batch)


@scenario("genchi.intake.services.cases.correct_address")
def arrange_correct_address(w: World):
    case = w.cases[0]
    return lambda: intake.correct_address(
        case, address="東京都世田谷区太子堂4-1-1", building_line="コーポ 101"
    )


def _upload(service: Callable[..., Any]) -> Callable[[World], Callable[[], Any]]:
    def arrange(w: World):
        data = w.csv()
        return lambda: service(w.contract, data, filename="list.csv")

    return arrange


def _on_a_run(status: str, service: Callable[..., Any]) -> Callable[[World], Callable[[], Any]]:
    def arrange(w: World):
        run = w.run(status)
        return lambda: service(run)

    return arrange


scenario("genchi.intake.services.runs.create_run")(_upload(intake.create_run))
scenario("genchi.intake.services.runs.import_file")(_upload(intake.import_file))
scenario("genchi.intake.services.runs.check_run")(
    _on_a_run(ImportRun.Status.UPLOADED, intake.check_run)
)
scenario("genchi.intake.services.runs.commit_run")(
    _on_a_run(ImportRun.Status.CHECKED, intake.commit_run)
)


def _running_job(w: World, status: str, *, beat_age: float) -> ImportRun:
    """A run whose job a worker took: running under attempt "t", last beat `beat_age` ago."""
    run = w.run(status)
    ImportRun.objects.filter(pk=run.pk).update(
        job_state=JobState.RUNNING,
        job_token="t",
        job_heartbeat_at=timezone.now() - dt.timedelta(seconds=beat_age),
    )
    run.refresh_from_db()
    return run


@scenario("genchi.jobs.outcomes.mark_failed")
def arrange_mark_failed(w: World):
    """A job whose work raised: the row marked failed (and set back) with its entry."""
    run = _running_job(w, ImportRun.Status.COMMITTING, beat_age=0)
    return lambda: outcomes.mark_failed(run, "t", RuntimeError("the commit failed"))


@scenario("genchi.jobs.outcomes.interrupt_if_stale")
def arrange_interrupt_if_stale(w: World):
    """A job whose worker died: the row marked interrupted (and set back) with its entry."""
    run = _running_job(w, ImportRun.Status.COMMITTING, beat_age=3600)
    return lambda: outcomes.interrupt_if_stale(run)


@scenario("genchi.jobs.tickets.retry")
def arrange_retry_given_up(w: World):
    """A sweep's retry of an item whose task failed too often: given up with its entry."""
    from genchi.jobs import tickets
    from genchi.jobs.models import TaskTicket
    from tests.jobs.tasks_for_tests import flaky

    TaskTicket.objects.create(
        task=flaky.module_path,
        key="item:a",
        state="failed",
        token="t",
        retries=tickets.max_retries(),
        last_error="RuntimeError",
    )
    return lambda: tickets.retry(flaky, "a", key="item:a", contract=w.contract)


@scenario("genchi.jobs.tickets.resume_given_up")
def arrange_resume_given_up(w: World):
    """The operator lets the sweeps try a given-up task again, with its entry."""
    from genchi.jobs import tickets
    from genchi.jobs.models import TaskTicket

    TaskTicket.objects.create(task="a.task", key="item:a", state="gave_up", token="t")
    return tickets.resume_given_up


@scenario("genchi.intake.services.runs.save_preset")
def arrange_save_preset(w: World):
    return lambda: intake.save_preset(w.ward, "区の標準", {"宛名番号": "taxpayer_no"})


@scenario("genchi.intake.services.runs.set_run_mapping")
def arrange_set_run_mapping(w: World):
    run = w.run(ImportRun.Status.CHECKED)
    return lambda: intake.set_run_mapping(run, {"宛名番号": "taxpayer_no"})


@scenario("genchi.transfer.ledger.register_stick")
def arrange_register_stick(w: World):
    return lambda: ledger.register_stick(w.ward, label="USB-02", serial="SN-2", capacity_gb=16)


@scenario("genchi.transfer.ledger.lend_stick")
def arrange_lend_stick(w: World):
    stick = w.stick
    return lambda: ledger.lend_stick(
        stick,
        borrower_name="高田 誠",
        borrower_org=w.contractor,
        due_on=timezone.localdate() + dt.timedelta(days=3),
    )


@scenario("genchi.transfer.ledger.return_stick")
def arrange_return_stick(w: World):
    stick = w.lent_stick()
    return lambda: ledger.return_stick(stick, returned_by_name="高田 誠")


@scenario("genchi.transfer.ledger.inspect_stick")
def arrange_inspect_stick(w: World):
    stick = w.stick
    return lambda: ledger.inspect_stick(stick, ok=True, note="金庫内")


@scenario("genchi.transfer.ledger.wipe_stick")
def arrange_wipe_stick(w: World):
    w.keys_exchanged()
    mount = w.folder("usb/USB-01")
    written = transfer.export_batch(w.sealed_batch, mount, by=w.staff, stick=w.stick)
    assert written.path.exists()  # the package the wipe must leave in place
    return lambda: ledger.wipe_stick(
        w.stick, method=StickEvent.WipeMethod.OVERWRITE_DELETE, folder=mount, by=w.staff
    )


@scenario("genchi.transfer.orgkeys.create_key_pair")
def arrange_create_key_pair(w: World):
    return lambda: orgkeys.create_key_pair(w.ward)


@scenario("genchi.transfer.orgkeys.export_card")
def arrange_export_card(w: World):
    orgkeys.create_key_pair(w.ward)
    return lambda: orgkeys.export_card(w.ward)


@scenario("genchi.transfer.orgkeys.import_card")
def arrange_import_card(w: World):
    card = orgkeys.create_key_pair(w.ward).card_json
    return lambda: orgkeys.import_card(w.contractor, card)


@scenario("genchi.transfer.orgkeys.exchange_demo_cards")
def arrange_exchange_demo_cards(w: World):
    return lambda: orgkeys.exchange_demo_cards(w.ward, w.contractor)


def _organisation_cards(w: World) -> None:
    w._once("org cards", lambda: orgkeys.exchange_demo_cards(w.ward, w.contractor))


@scenario("genchi.transfer.contract_keys.create_recipient_key")
def arrange_create_recipient_key(w: World):
    _organisation_cards(w)
    return lambda: contract_keys.create_recipient_key(w.contract, w.contractor)


@scenario("genchi.transfer.contract_keys.export_card")
def arrange_export_contract_card(w: World):
    _organisation_cards(w)
    row = contract_keys.create_recipient_key(w.contract, w.contractor)
    return lambda: contract_keys.export_card(row)


@scenario("genchi.transfer.contract_keys.import_card")
def arrange_import_contract_card(w: World):
    _organisation_cards(w)
    row = contract_keys.create_recipient_key(w.contract, w.contractor)
    return lambda: contract_keys.import_card(
        w.ward, row.card_json, expected_fingerprint=row.encryption_fingerprint
    )


@scenario("genchi.transfer.contract_keys.exchange_demo_cards")
def arrange_exchange_contract_cards(w: World):
    _organisation_cards(w)
    return lambda: contract_keys.exchange_demo_cards(w.contract)


@scenario("genchi.transfer.contract_keys.erase_contract_keys")
def arrange_erase_contract_keys(w: World):
    w.keys_exchanged()  # the data keys and the recipient key exist
    return lambda: contract_keys.erase_contract_keys(w.contract, w.contractor)


@scenario("genchi.transfer.services.outgoing.send_item")
def arrange_send_item(w: World):
    w.keys_exchanged()
    batch, out, staff = w.sealed_batch, w.folder("send"), w.staff
    return lambda: transfer.send_item("cases", batch.pk, out, by=staff)


@scenario("genchi.transfer.services.outgoing.export_batch")
def arrange_export_batch(w: World):
    w.keys_exchanged()
    batch, stick, out, staff = w.sealed_batch, w.stick, w.folder("usb/USB-01"), w.staff
    return lambda: transfer.export_batch(batch, out, by=staff, stick=stick)


@scenario("genchi.transfer.services.outgoing.export_results_package")
def arrange_export_results_package(w: World):
    w.keys_exchanged()
    records = [blank_result("ref-0001", "not_resident")]
    out, manager = w.folder("results-out"), w.manager
    return lambda: transfer.export_results_package(w.contract, records, out, by=manager)


@scenario("genchi.transfer.services.incoming.receive_package")
def arrange_receive_package(w: World):
    path = w.export.path
    return lambda: transfer.receive_package(path, kind="cases", by=w.manager, giver_name="区")


@scenario("genchi.transfer.services.incoming.import_cases_package")
def arrange_import_cases_package(w: World):
    path = w.export.path
    return lambda: transfer.import_cases_package(path, by=w.manager, stick_label="USB-01")


@scenario("genchi.transfer.services.incoming.verify_results_package")
def arrange_verify_results_package(w: World):
    path = w.results.path
    return lambda: transfer.verify_results_package(path, by=w.staff)


@scenario("genchi.transfer.services.inspect.inspect_file")
def arrange_inspect_file(w: World):
    path = w.export.path
    return lambda: transfer.inspect_file(path)


def _download_export(w: World) -> transfer.ExportResult:
    w.keys_exchanged()
    out = transfer.download_folder(w.ward)
    out.mkdir(parents=True, exist_ok=True)
    return transfer.export_batch(
        w.sealed_batch, out, by=w.staff, stick=w.stick, delivery="download"
    )


@scenario("genchi.transfer.services.outgoing.download_package")
def arrange_download_package(w: World):
    package = _download_export(w).package
    return lambda: transfer.download_package(package, by=w.staff)


@scenario("genchi.transfer.services.outgoing.remove_server_copy")
def arrange_remove_server_copy(w: World):
    package = _download_export(w).package
    return lambda: transfer.remove_server_copy(package)


@scenario("genchi.transfer.services.slips.issue_slip")
def arrange_issue_slip(w: World):
    package = w.export.package
    HandoverSlip.objects.filter(package=package).delete()  # the export's, to issue it again
    return lambda: issue_slip(package, giver_name="区", receiver_name="", by=w.staff)


@scenario("genchi.transfer.services.slips.mark_received")
def arrange_mark_received(w: World):
    slip = w.export.slip
    return lambda: transfer.mark_received(slip, receiver_name="高田 誠", by=w.staff)


@scenario("genchi.transfer.services.slips.confirm_slip")
def arrange_confirm_slip(w: World):
    slip = w.export.slip
    transfer.mark_received(slip, receiver_name="高田 誠", by=w.staff)
    code = f"{slip.package_uuid} {slip.digest}"
    return lambda: transfer.confirm_slip(slip, code=code, record_count=slip.record_count)


@scenario("genchi.vault.keys.rotate_master_key")
def arrange_rotate_master_key(w: World):
    w.keys_exchanged()  # organisation secrets are re-wrapped in the same transaction
    return vault_keys.rotate_master_key


@scenario("genchi.compliance.services.request_chain_check")
def arrange_request_chain_check(w: World):
    staff = w.staff

    def call():
        with override_settings(GENCHI_JOBS_ENQUEUE_ON_COMMIT=True):  # the worker runs it later
            return request_chain_check(by=staff)

    return call


@scenario("genchi.compliance.services.run_chain_check")
def arrange_run_chain_check(w: World):
    staff = w.staff
    with override_settings(GENCHI_JOBS_ENQUEUE_ON_COMMIT=True):  # queued, not run
        check = request_chain_check(by=staff)
    ChainCheck.objects.filter(pk=check.pk).update(job_state="running")  # as a worker claims it
    job = JobRun(check, check.job_token)
    return lambda: run_chain_check(check, job)


def _received(w: World) -> list:
    from genchi.fieldwork.models import SurveyCase

    transfer.import_cases_package(w.export.path, by=w.manager)
    return list(SurveyCase.objects.filter(contract=w.contract).order_by("pk"))


def _png() -> Any:
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(data, "PNG")
    data.seek(0)
    data.name = "scan.png"
    return data


@scenario("genchi.fieldwork.selectors.log_case_view")
def arrange_fieldwork_log_case_view(w: World):
    from genchi.fieldwork import selectors as fieldwork_selectors

    case = _received(w)[0]
    return lambda: fieldwork_selectors.log_case_view(case)


@scenario("genchi.fieldwork.selectors.log_case_list_view")
def arrange_fieldwork_log_case_list_view(w: World):
    from genchi.fieldwork import selectors as fieldwork_selectors

    cases = _received(w)
    return lambda: fieldwork_selectors.log_case_list_view(cases)


@scenario("genchi.fieldwork.services.assign_cases")
def arrange_assign_cases(w: World):
    from genchi.fieldwork.services import assign_cases

    refs = [c.case_ref for c in _received(w)]
    surveyor, manager = w.people[Role.SURVEYOR], w.manager
    return lambda: assign_cases(w.contract, refs, surveyor, by=manager)


@scenario("genchi.parties.services.record_training")
def arrange_record_training(w: World):
    surveyor, manager = w.people[Role.SURVEYOR], w.manager
    return lambda: parties.record_training(
        surveyor,
        trained_on=timezone.localdate(),
        course="研修",
        taught_by="講師",
        ordinance_read=True,
        provisions_read=True,
        by=manager,
    )


@scenario("genchi.parties.services.record_pledge")
def arrange_record_pledge(w: World):
    surveyor, manager, scan = w.people[Role.SURVEYOR], w.manager, _png()
    return lambda: parties.record_pledge(
        surveyor, signed_on=timezone.localdate(), scan=scan, by=manager
    )


@scenario("genchi.parties.services.set_photo")
def arrange_set_photo(w: World):
    surveyor, manager, photo = w.people[Role.SURVEYOR], w.manager, _png()
    return lambda: parties.set_photo(surveyor, photo, by=manager)


@scenario("genchi.parties.services.issue_id_card")
def arrange_issue_id_card(w: World):
    designation = Designation.objects.get(person=w.people[Role.SURVEYOR])
    manager = w.manager
    return lambda: parties.issue_id_card(designation, by=manager)


@scenario("genchi.parties.services.revoke_id_card")
def arrange_revoke_id_card(w: World):
    designation = Designation.objects.get(person=w.people[Role.SURVEYOR])
    card = parties.issue_id_card(designation, by=w.manager)
    manager = w.manager
    return lambda: parties.revoke_id_card(card, by=manager)


# --- fieldwork: visits, photos, review, positions, the forbidden-text guard ---------------


@scenario("genchi.fieldwork.services.record_visit")
def arrange_record_visit(w: World):
    case, surveyor = w.assigned[0], w.surveyor
    # Its photo is stored as a file before the entry: the failure must take it away.
    return lambda: record_visit(case, visit_data(), [sample()], by=surveyor)


@scenario("genchi.fieldwork.services.review_case")
def arrange_review_case(w: World):
    case, manager = w.visit.case, w.manager
    return lambda: review_case(case, approve=False, reason="表札を確認してください。", by=manager)


@scenario("genchi.fieldwork.services.correct_position")
def arrange_correct_position(w: World):
    ref, manager = w.survey_cases[0].case_ref, w.manager
    return lambda: correct_position(w.contract, ref, lat=35.7, lng=139.7, by=manager)


@scenario("genchi.fieldwork.selectors.log_photo_view")
def arrange_log_photo_view(w: World):
    photo = w.visit.photos.get()
    return lambda: fieldwork_selectors.log_photo_view(photo)


@scenario("genchi.fieldwork.selectors.cases_for_planning")
def arrange_cases_for_planning(w: World):
    _cases, manager = w.survey_cases, w.manager
    return lambda: fieldwork_selectors.cases_for_planning(manager, w.contract, view="areas")


@scenario("genchi.fieldwork.selectors.log_case_points_view")
def arrange_log_case_points_view(w: World):
    _cases = w.survey_cases
    points = fieldwork_selectors.case_points(SurveyCase.objects.filter(contract=w.contract), 10)
    return lambda: fieldwork_selectors.log_case_points_view(points, view="map")


REFUSED_TEXT = "世帯主は熱心な宗教の信者とのこと"  # refused by the guard (creed)


def _answered_by(refusal: type[Exception], call: Callable[[], Any]) -> Callable[[], Any]:
    """A call whose normal answer is a refusal (raised after its entry): the refusal is
    taken as the answer, a failed entry still goes through."""

    def answered():
        try:
            call()
        except refusal:
            return "refused"
        raise AssertionError("the call was expected to refuse")

    return answered


@scenario("genchi.fieldwork.forbidden.record_refusal")
def arrange_record_refusal(w: World):
    result = check_text(REFUSED_TEXT)
    assert not result.allowed
    return lambda: record_refusal("notes", result, contract=w.contract, form="VisitForm")


@scenario("genchi.fieldwork.forbidden.validate_free_text")
def arrange_validate_free_text(w: World):
    return _answered_by(
        ValidationError, lambda: validate_free_text("notes", REFUSED_TEXT, contract=w.contract)
    )


# --- planner: bases, area proposals, campaigns and plans -----------------------------------


@scenario("genchi.planner.areas_services.set_base")
def arrange_set_base(w: World):
    manager = w.manager
    return lambda: areas.set_base(
        w.contract,
        None,
        label="本社",
        kind=SurveyorBase.Kind.OFFICE,
        lat=35.690921,
        lng=139.700258,
        by=manager,
    )


def _proposal(w: World):
    def make():
        w.survey_cases, w.office_base  # noqa: B018 - made first
        return areas.propose(w.contract, by=w.manager, params={"seconds": 1.0})

    return w._once("proposal", make)


@scenario("genchi.planner.areas_services.propose")
def arrange_propose(w: World):
    _cases, _base, manager = w.survey_cases, w.office_base, w.manager
    # Two entries: the cases read for planning, then the proposal.
    return lambda: areas.propose(w.contract, by=manager, params={"seconds": 1.0})


@scenario("genchi.planner.areas_services.move_cases")
def arrange_move_cases(w: World):
    proposal, manager = _proposal(w), w.manager
    refs = [row.case_ref for row in proposal.rows.all()[:2]]
    return lambda: areas.move_cases(w.contract, proposal.pk, refs, None, by=manager)


@scenario("genchi.planner.areas_services.move_town")
def arrange_move_town(w: World):
    proposal, manager = _proposal(w), w.manager
    ref = proposal.rows.order_by("pk").first().case_ref
    case = next(c for c in w.survey_cases if c.case_ref == ref)
    town = (case.pref, case.city, case.town)
    return lambda: areas.move_town(w.contract, proposal.pk, town, None, by=manager)


@scenario("genchi.planner.areas_services.move_trip")
def arrange_move_trip(w: World):
    proposal, manager = _proposal(w), w.manager
    # Two cases of the draft made one trip, as far cases are.
    proposal.rows.filter(pk__in=[r.pk for r in proposal.rows.all()[:2]]).update(trip="T9")
    return lambda: areas.move_trip(w.contract, proposal.pk, "T9", None, by=manager)


@scenario("genchi.planner.areas_services.confirm")
def arrange_confirm(w: World):
    proposal, manager = _proposal(w), w.manager
    return lambda: areas.confirm(w.contract, proposal.pk, by=manager)


@scenario("genchi.planner.plans.save_campaign")
def arrange_save_campaign(w: World):
    campaign, manager = plans.campaign_of(w.contract), w.manager  # unsaved defaults
    return lambda: plans.save_campaign(campaign, manager)


@scenario("genchi.planner.plans.prepare_solve")
def arrange_prepare_solve(w: World):
    _campaign, manager = w.campaign, w.manager
    return lambda: plans.prepare_solve(w.contract, manager)


@scenario("genchi.planner.plans.start_solve")
def arrange_start_solve(w: World):
    _campaign, manager = w.campaign, w.manager

    def call():
        with override_settings(GENCHI_JOBS_ENQUEUE_ON_COMMIT=True):  # the worker solves it
            return plans.start_solve(w.contract, manager)

    return call


@scenario("genchi.planner.plans.solve_now")
def arrange_solve_now(w: World):
    _campaign, manager = w.campaign, w.manager
    # Two entries: the version requested, then solved.
    return lambda: plans.solve_now(w.contract, manager)


@scenario("genchi.planner.plans.solve_work")
def arrange_solve_work(w: World):
    _campaign, manager = w.campaign, w.manager
    with override_settings(GENCHI_JOBS_ENQUEUE_ON_COMMIT=True):  # queued, not run
        row = plans.start_solve(w.contract, manager)
    CampaignPlan.objects.filter(pk=row.pk).update(job_state="running")  # as a worker claims it
    row.refresh_from_db()
    job = JobRun(row, row.job_token)
    job.step("solve", 1)  # the runner's heartbeat, written before: not the service's write

    def call():
        with override_settings(GENCHI_JOB_HEARTBEAT_SECONDS=3600):  # no beat during the call
            return plans.solve_work(row, job)

    return call


@scenario("genchi.planner.plans.replan_surveyor")
def arrange_replan_surveyor(w: World):
    plan, surveyor, manager = w.plan, w.surveyor, w.manager
    return lambda: plans.replan_surveyor(w.contract, surveyor.pk, plan.first_day, manager)


@scenario("genchi.planner.plans.apply_visit_results")
def arrange_apply_visit_results(w: World):
    plan, case, manager = w.plan, w.assigned[0], w.manager
    # A result waiting (as the receiver keeps it in the visit's transaction).
    plans.note_visit_result(case, timezone.now(), True, manager)
    return lambda: plans.apply_visit_results(plan.contract_id)


@scenario("genchi.planner.plans.lock_visit")
def arrange_lock_visit(w: World):
    plan, manager = w.plan, w.manager
    day = plan.first_day + dt.timedelta(days=plan.instance["days"][0] - 1)
    ref = w.assigned[0].case_ref
    return lambda: plans.lock_visit(w.contract, ref, day, manager)


# --- tablets -------------------------------------------------------------------------------

OUTSIDE_IP = "203.0.113.9"  # not an office network


@scenario("genchi.tablet.services.check_network")
def arrange_check_network(w: World):
    return _answered_by(
        tablet.Refused, lambda: tablet.check_network(OUTSIDE_IP, w.contract.code, step="sync")
    )


@scenario("genchi.tablet.services.start_enrolment")
def arrange_start_enrolment(w: World):
    key = w.tablet_key
    return lambda: tablet.start_enrolment(key)


@scenario("genchi.tablet.services.confirm_enrolment")
def arrange_confirm_enrolment(w: World):
    enrolment, surveyor, manager = tablet.start_enrolment(w.tablet_key), w.surveyor, w.manager
    return lambda: tablet.confirm_enrolment(
        enrolment.code, contract=w.contract, surveyor=surveyor, label="T-01", by=manager
    )


def _revoked_device(w: World):
    device = w.device
    tablet.revoke(device, by=w.manager, reason="紛失")
    device.refresh_from_db()
    return device


@scenario("genchi.tablet.services.refuse_if_revoked")
def arrange_refuse_if_revoked(w: World):
    device = _revoked_device(w)
    # The wipe instruction is marked on the device with its entry.
    return _answered_by(tablet.Refused, lambda: tablet.refuse_if_revoked(device, ip="127.0.0.1"))


@scenario("genchi.tablet.services.new_challenge")
def arrange_new_challenge(w: World):
    device = _revoked_device(w)
    return _answered_by(tablet.Refused, lambda: tablet.new_challenge(device, ip="127.0.0.1"))


@scenario("genchi.tablet.services.revoke")
def arrange_revoke(w: World):
    device, manager = w.device, w.manager
    return lambda: tablet.revoke(device, by=manager, reason="紛失")


@scenario("genchi.tablet.services.sign_in")
def arrange_sign_in(w: World):
    device, surveyor = w.device, w.surveyor
    challenge = tablet.new_challenge(device, ip="127.0.0.1").value
    request = RequestFactory().post("/tablet/api/signin/")
    # Two entries: the surveyor's sign-in, then the tablet's.
    return lambda: tablet.sign_in(
        request,
        device,
        username=surveyor.username,
        password=PASSWORD,
        challenge=challenge,
        ip="127.0.0.1",
    )


@scenario("genchi.tablet.services.sync_down")
def arrange_sync_down(w: World):
    _cases, device = w.assigned, w.device
    return lambda: tablet.sync_down(device, held=[], wanted=None, ip="127.0.0.1")


@scenario("genchi.tablet.services.log_opened_cases")
def arrange_log_opened_cases(w: World):
    cases, device = w.assigned, w.device
    at = timezone.now().isoformat()
    reports = [{"id": f"{i:016x}", "ref": c.case_ref, "at": at} for i, c in enumerate(cases)]
    return lambda: tablet.log_opened_cases(device, reports, ip="127.0.0.1")


@scenario("genchi.fieldwork.selectors.log_case_views_on_tablet")
def arrange_log_case_views_on_tablet(w: World):
    cases, device = w.assigned, w.device
    opened = [(c.case_ref, timezone.now()) for c in cases]
    return lambda: fieldwork_selectors.log_case_views_on_tablet(
        w.contract, opened, device=device.pk, actor=None
    )


@scenario("genchi.tablet.services.use_nonce")
def arrange_use_nonce(w: World):
    device, nonce = w.device, "a" * 16
    tablet.use_nonce(device, nonce)
    # An expired nonce too: a refusal's entry goes with nothing else (no clearing).
    UsedNonce.objects.create(device=device, nonce="b" * 16, at=timezone.now() - dt.timedelta(1))
    # The replay is refused and logged.
    return _answered_by(tablet.Refused, lambda: tablet.use_nonce(device, nonce))


def _tablet_visit(w: World, photos: list[bytes]) -> tuple[Any, str, list[str]]:
    """The device's sync down (it holds its cases), then a visit it sends up."""
    import hashlib

    from genchi.tablet import uploads
    from tests.fieldwork.visits import form_data

    device, case = w.device, w.assigned[1]
    tablet.sync_down(device, held=[], wanted=None, ip="127.0.0.1")
    ids = [f"{n:032x}" for n in range(1, len(photos) + 1)]
    listed = [
        {"id": i, "sha256": hashlib.sha256(p).hexdigest()} for i, p in zip(ids, photos, strict=True)
    ]
    return (
        lambda **more: uploads.receive_visit(
            device,
            client_id="ab" * 16,
            case_ref=case.case_ref,
            fields=form_data(**more),
            photos=listed,
            ip="127.0.0.1",
        ),
        "ab" * 16,
        ids,
    )


def _settled_later(call):
    """The sync's own writes: the visit is recorded afterwards by its own task (scenario
    `settle`), as in production where the task is enqueued once the sync commits."""

    def run():
        with override_settings(GENCHI_JOBS_ENQUEUE_ON_COMMIT=True):
            return call()

    return run


@scenario("genchi.tablet.uploads.receive_visit")
def arrange_receive_visit(w: World):
    send, _visit, _ids = _tablet_visit(w, [])
    # No photos: received, sealed and logged in one go; recorded in the background.
    return _settled_later(send)


@scenario("genchi.tablet.uploads.receive_photo")
def arrange_receive_photo(w: World):
    from genchi.tablet import uploads

    picture = sample()
    send, visit, ids = _tablet_visit(w, [picture])
    send()
    device = w.device
    # The last photo: kept, the visit marked received; recorded in the background.
    return _settled_later(
        lambda: uploads.receive_photo(
            device, visit_id=visit, client_id=ids[0], data=picture, ip="127.0.0.1"
        )
    )


@scenario("genchi.tablet.uploads.receive_batch")
def arrange_receive_batch(w: World):
    from genchi.tablet import uploads
    from tests.fieldwork.visits import form_data

    device, case = w.device, w.assigned[1]
    tablet.sync_down(device, held=[], wanted=None, ip="127.0.0.1")
    entry = {"visit": "cd" * 16, "case": case.case_ref, "fields": form_data(), "photos": []}
    # A batch is made of units (a visit, then each of its photos: each its own transaction,
    # so an interrupted sync keeps what arrived, as receive_visit's and receive_photo's
    # scenarios show); a batch of one visit without photos is one unit, all or nothing.
    return _settled_later(lambda: uploads.receive_batch(device, [entry], {}, ip="127.0.0.1"))


@scenario("genchi.tablet.uploads.settle")
def arrange_settle(w: World):
    from genchi.fieldwork.services import assign_cases
    from genchi.tablet import uploads
    from genchi.tablet.models import Upload

    picture = sample()
    send, visit, _ids = _tablet_visit(w, [picture])
    send()
    upload = Upload.objects.get(client_id=visit)
    # Taken back from the surveyor meanwhile: the refusal, the forgetting and its entry
    # go together.
    assign_cases(w.contract, [upload.case_ref], None, by=w.manager)
    return lambda: uploads.settle(upload, ip="127.0.0.1")


@scenario("genchi.compliance.lost_devices.report_lost_device")
def arrange_report_lost_device(w: World):
    device, manager = w.device, w.manager
    tablet.sync_down(device, held=[], wanted=None, ip="127.0.0.1")
    # Revocation, incident and the record of the cases: three entries, all or nothing.
    from genchi.compliance import lost_devices

    return lambda: lost_devices.report_lost_device(
        device, by=manager, found_by="調査員", summary="電車内に置き忘れた。"
    )


# --- compliance: incidents ----------------------------------------------------------------


def _report_incident(w: World, by: User):
    return incidents.record_incident(
        by,
        w.contract,
        kind=Incident.Kind.LOSS,
        found_at=timezone.now() - dt.timedelta(hours=1),
        found_by="調査員 一郎",
        summary="調査中の書類一式を電車内に置き忘れた。",
        first_actions="鉄道会社に遺失届を提出。",
    )


@scenario("genchi.compliance.incidents.record_incident")
def arrange_record_incident(w: World):
    manager = w.manager
    return lambda: _report_incident(w, manager)


@scenario("genchi.compliance.package_handlers.IncidentReceiver.receive")
def arrange_incident_receive(w: World):
    # The contractor's Genchi wrote the package; the ward's (another installation) does
    # not hold the incident, so its rows go before the ward imports it.
    w.keys_exchanged()
    manager, staff = w.manager, w.staff
    incident = _report_incident(w, manager)
    path = incidents.send_incident(incident, w.folder("incident"), by=manager).path
    Incident.objects.filter(pk=incident.pk).delete()
    return lambda: transfer.receive_package(path, kind="incident", by=staff)


@scenario("genchi.compliance.incidents.add_entry")
def arrange_add_entry(w: World):
    manager = w.manager
    incident = _report_incident(w, manager)
    return lambda: incidents.add_entry(
        manager, incident, kind=IncidentEntry.Kind.WRITTEN_REPORT, text="書面で報告した。"
    )


# --- erasure (issue 17) ---------------------------------------------------------------------


def _surveyed(w: World) -> None:
    """The contract surveyed to its end: results returned and imported at the ward."""
    from tests.erasure.world import survey_to_the_end

    w.keys_exchanged()
    survey_to_the_end(w.people, w.contract, w.folder("erasure-results"))


def _started(w: World):
    _surveyed(w)
    return erasure_services.start_erasure(w.contract, by=w.manager)


def _witnessed(w: World):
    erasure = _started(w)
    code = erasure_services.issue_witness_code(w.contract, erasure.challenge, by=w.staff)
    return erasure_services.confirm_by_code(erasure, witness_name="戸山", code=code, by=w.manager)


@scenario("genchi.erasure.services.start_erasure")
def arrange_start_erasure(w: World):
    _surveyed(w)
    manager = w.manager
    return lambda: erasure_services.start_erasure(w.contract, by=manager)


@scenario("genchi.erasure.services.issue_witness_code")
def arrange_issue_witness_code(w: World):
    erasure, staff = _started(w), w.staff
    return lambda: erasure_services.issue_witness_code(w.contract, erasure.challenge, by=staff)


@scenario("genchi.erasure.services.confirm_by_code")
def arrange_confirm_by_code(w: World):
    erasure, manager = _started(w), w.manager
    code = erasure_services.issue_witness_code(w.contract, erasure.challenge, by=w.staff)
    return lambda: erasure_services.confirm_by_code(
        erasure, witness_name="戸山", code=code, by=manager
    )


@scenario("genchi.erasure.services.confirm_named")
def arrange_confirm_named(w: World):
    erasure = _started(w)
    return lambda: erasure_services.confirm_named(erasure, witness_name="戸山")


@scenario("genchi.erasure.services.confirm_by_sign_in")
def arrange_confirm_by_sign_in(w: World):
    erasure, manager, staff = _started(w), w.manager, w.staff
    # Three entries in one transaction: the password, the second factor, the witness.
    return lambda: erasure_services.confirm_by_sign_in(
        erasure,
        username=staff.username,
        password=PASSWORD,
        token=current_code(staff),
        ip="127.0.0.1",
        by=manager,
    )


@scenario("genchi.erasure.services.erase")
def arrange_erase(w: World):
    # The first entries are those of the erasure's transaction: keys, rows, tablets.
    erasure, manager = _witnessed(w), w.manager
    return lambda: erasure_services.erase(erasure, by=manager)


def _certificate_package(w: World):
    erasure = erasure_services.erase(_witnessed(w), by=w.manager)
    return erasure_services.write_certificate_package(
        erasure, w.folder("certificate"), by=w.manager
    ).path


@scenario("genchi.erasure.package_handlers.CertificateReceiver.receive")
def arrange_certificate_receive(w: World):
    path, staff = _certificate_package(w), w.staff
    return lambda: transfer.receive_package(path, kind="certificate", by=staff)


@scenario("genchi.parties.services.close_contract")
def arrange_close_contract(w: World):
    return lambda: parties.close_contract(w.contract, reason="test")


@scenario("genchi.tablet.services.revoke_for_erasure")
def arrange_revoke_for_erasure(w: World):
    device, manager = w.device, w.manager
    return lambda: tablet.revoke_for_erasure(device.contract, by=manager, reason="契約の消去")


# --- compliance: checklist and on-site audits; evaluation: follow-up ----------------------


@scenario("genchi.compliance.checklist.answer_item")
def arrange_answer_item(w: World):
    staff = w.staff
    return lambda: checklist.answer_item(
        staff, w.contract, item="C-O2", answer="yes", checked_on=timezone.localdate()
    )


def _onsite_audit(w: World):
    return audits.record_audit(
        w.staff, w.contract, audited_on=timezone.localdate(), inspector="戸山", findings="良好"
    )


@scenario("genchi.compliance.audits.record_audit")
def arrange_record_audit(w: World):
    staff = w.staff
    return lambda: audits.record_audit(
        staff,
        w.contract,
        audited_on=timezone.localdate(),
        inspector="戸山",
        findings="良好",
        actions=[("手順書を改める", None)],
    )


@scenario("genchi.compliance.audits.add_action")
def arrange_add_action(w: World):
    audit = _onsite_audit(w)
    return lambda: audits.add_action(w.staff, audit, text="OS を更新する", due_on=None)


@scenario("genchi.compliance.audits.complete_action")
def arrange_complete_action(w: World):
    audit = _onsite_audit(w)
    action = audits.add_action(w.staff, audit, text="OS を更新する", due_on=None)
    return lambda: audits.complete_action(
        w.staff, action, completed_on=timezone.localdate(), note="適用済み"
    )


def _followed_refs(w: World) -> list[str]:
    from tests.evaluation.world import KNOWN, results

    return [r.case_ref for r in results(w.contract, KNOWN[:2])]


@scenario("genchi.evaluation.services.import_contacts")
def arrange_import_contacts(w: World):
    refs, staff = _followed_refs(w), w.staff
    day = timezone.localdate().isoformat()
    data = f"参照番号,接触日,接触方法,金額\r\n{refs[0]},{day},電話,\r\n".encode("cp932")
    return lambda: follow_up.import_contacts(staff, w.contract, data, filename="c.csv")


@scenario("genchi.evaluation.services.add_contact")
def arrange_add_contact(w: World):
    refs, staff = _followed_refs(w), w.staff
    return lambda: follow_up.add_contact(
        staff, w.contract, case_ref=refs[0], kind="phone", contacted_on=timezone.localdate()
    )


# --- the tests ---------------------------------------------------------------------------------


def test_every_service_has_a_scenario():
    found = logging_services()
    assert "genchi.parties.services.create_organisation" in found  # the walk finds services
    assert found - SCENARIOS.keys() == set(), "services that write the log with no scenario"
    assert SCENARIOS.keys() - found == set(), "scenarios of services that no longer log"


def test_the_edge_that_logs_writes_only_through_services():
    loggers = edge_loggers()
    assert "genchi.web.views.server_error" in loggers  # the walk reaches the edge
    writing = {name for name, unit in loggers.items() if writes_through_the_orm(unit)}
    assert writing == set(), "move these writes into services (with their entries)"


def _params():
    for service in sorted(SCENARIOS):
        for fail_at in (1, 2):
            yield pytest.param(service, fail_at, id=f"{service.removeprefix('genchi.')}-{fail_at}")


@pytest.mark.django_db
@pytest.mark.parametrize(("service", "fail_at"), list(_params()))
def test_a_failed_entry_leaves_nothing_written(
    service, fail_at, request, tmp_path, settings, monkeypatch
):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    case = SCENARIOS[service]
    world = World(request, tmp_path)
    call = case.arrange(world)
    world.arranged = True
    rows, files = database_snapshot(), files_snapshot(tmp_path)
    raised = False
    with failing_entries(monkeypatch, fail_at) as failing:
        try:
            call()
        except AuditEntryFailed:
            raised = True
    if not failing.failed and fail_at > 1:
        pytest.skip(f"the call writes {failing.attempts} entries, fewer than {fail_at}")
    assert failing.failed, "no audit entry went through the cursor: the test sees nothing"
    assert raised == case.raises  # the failure reaches the caller; a runner logs it instead
    assert database_snapshot() == rows
    assert files_snapshot(tmp_path) == files

"""Every URL declares a policy, and every role gets exactly what the policy says (D2).

A new URL without a policy fails `test_every_url_declares_a_policy`; a new URL without
an entry in KINDS below fails `test_every_url_has_an_expectation`. A new URL parameter
name fails `test_every_role_gets_what_the_policy_declares` until it is added to
URL_PARAMS below, with a value that names a real object of the test world.

Every role calls every URL with each method: GET for pages, POST for actions, both for
forms. A role the policy names must get through (and a page must refuse POST, an action
GET, with 405: a page only shows, an action only writes); any other role gets 403 on both.
Each call runs in a savepoint rolled back afterwards, with the client's cookies restored,
so a write (a sealed batch, a sign-out) does not change what the next call sees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from copy import deepcopy

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from genchi.access.policy import policy_of
from genchi.accounts.models import Role
from genchi.compliance.models import AuditAction, Incident, OnSiteAudit
from genchi.fieldwork.models import SurveyClosing

# How to fill each URL parameter, given the test world (see `world` below).
URL_PARAMS: dict[str, Callable[[dict], str]] = {
    "code": lambda w: w["contract"].code,
    "contract_id": lambda w: str(w["contract"].pk),
    "pk": lambda w: str(w["people"][Role.WARD_STAFF].pk),
    "ref": lambda w: w["case"].ref,
    "run_id": lambda w: str(w["import_run"].pk),
    "batch_id": lambda w: str(w["batch"].pk),
    "slip_id": lambda w: str(w["slip"].pk),
    "stick_id": lambda w: str(w["stick"].pk),
    "job_id": lambda w: str(w["handover_job"].pk),
    "case_ref": lambda w: w["survey_case"].case_ref,
    "person_id": lambda w: str(w["people"][Role.SURVEYOR].pk),
    "pledge_id": lambda w: str(w["pledge"].pk),
    "designation_id": lambda w: str(w["surveyor_designation"].pk),
    "card_id": lambda w: str(w["id_card"].pk),
    "token": lambda w: w["id_card"].token,
    "package_id": lambda w: str(w["package"].pk),
    "result_photo_id": lambda w: str(w["result_photo"].pk),
    "incident_id": lambda w: str(w["incident"].pk),
    "date": lambda w: w["contract"].starts_on.isoformat(),
    "device_id": lambda w: str(w["tablet_device"].pk),
    "photo_id": lambda w: str(w["visit_photo"].pk),
    "closing_id": lambda w: str(w["survey_closing"].pk),
    "kind": lambda w: "pdf",
    "visit": lambda w: "0123456789abcdef",
    "photo": lambda w: "fedcba9876543210",
    "audit_id": lambda w: str(w["onsite_audit"].pk),
    "action_id": lambda w: str(w["audit_action"].pk),
}


PAGE = ("get",)  # shows; refuses POST
ACTION = ("post",)  # writes; POST only
FORM = ("get", "post")  # a page whose form posts back to itself, under the same policy

# What each URL is, by name: a new URL has no expectation until it is added here.
KINDS: dict[str, tuple[str, ...]] = {
    "web:home": PAGE,
    "web:set_language": ACTION,
    "web:health": PAGE,
    "accounts:login": FORM,
    "accounts:second_factor": FORM,
    "accounts:new_password": FORM,
    "accounts:password_change": FORM,
    "accounts:logout": ACTION,
    "parties:organisation_list": FORM,
    "parties:contract_list": PAGE,
    "parties:contract_create": FORM,
    "parties:contract_detail": PAGE,
    "parties:contract_edit": FORM,
    "parties:designation_create": ACTION,
    "parties:designation_end": ACTION,
    "parties:person_list": FORM,
    "parties:person_detail": FORM,
    "parties:person_reset_second_factor": ACTION,
    "parties:person_unlock": ACTION,
    "parties:staff_training": ACTION,
    "parties:staff_pledge": ACTION,
    "parties:staff_pledge_scan": PAGE,
    "parties:staff_photo": ACTION,
    "parties:roster_pdf": PAGE,
    "parties:id_card_issue": ACTION,
    "parties:id_card_pdf": PAGE,
    "parties:id_card_revoke": ACTION,
    "parties:id_card_check": PAGE,
    "fieldwork:case_list": PAGE,
    "fieldwork:case_detail": PAGE,
    "fieldwork:case_assign": ACTION,
    "slips:case_slip": PAGE,
    "slips:route_slips": FORM,
    "fieldwork:case_position": FORM,
    "planner:areas_index": PAGE,
    "planner:areas_page": PAGE,
    "planner:areas_propose": ACTION,
    "planner:areas_move_cases": ACTION,
    "planner:areas_move_town": ACTION,
    "planner:areas_move_trip": ACTION,
    "planner:areas_confirm": ACTION,
    "planner:bases": FORM,
    "planner:plan_index": PAGE,
    "planner:plan": PAGE,
    "planner:plan_settings": FORM,
    "planner:plan_solve": ACTION,
    "planner:plan_progress": PAGE,
    "planner:plan_day": PAGE,
    "planner:plan_replan": ACTION,
    "planner:plan_lock": ACTION,
    "fieldwork:visit_new": FORM,
    "fieldwork:case_review": ACTION,
    "fieldwork:visit_photo": PAGE,
    "fieldwork:progress": PAGE,
    "fieldwork:close": PAGE,
    "fieldwork:close_start": ACTION,
    "fieldwork:report_download": PAGE,
    "compliance:log": PAGE,
    "compliance:check_start": ACTION,
    "compliance:check_status": PAGE,
    "intake:case_list": PAGE,
    "intake:case_detail": PAGE,
    "compliance:incident_list": PAGE,
    "compliance:incident_new": FORM,
    "compliance:incident_detail": PAGE,
    "compliance:incident_add_entry": ACTION,
    "compliance:incident_pdf": PAGE,
    "compliance:incident_send": ACTION,
    "compliance:checklist_list": PAGE,
    "compliance:checklist_detail": PAGE,
    "compliance:checklist_answer": ACTION,
    "compliance:checklist_download": PAGE,
    "compliance:audit_new": FORM,
    "compliance:audit_detail": PAGE,
    "compliance:audit_add_action": ACTION,
    "compliance:audit_complete_action": ACTION,
    "compliance:audit_download": PAGE,
    "compliance:handling_report": PAGE,
    "compliance:handling_download": PAGE,
    "compliance:contract_history": PAGE,
    "evaluation:index": PAGE,
    "evaluation:export_xlsx": PAGE,
    "evaluation:contract": PAGE,
    "evaluation:import": ACTION,
    "evaluation:add": ACTION,
    "results:index": PAGE,
    "results:summary": PAGE,
    "results:export_csv": PAGE,
    "results:export_xlsx": PAGE,
    "results:photo": PAGE,
    "intake:case_correct_address": ACTION,
    "intake:import_start": FORM,
    "intake:import_run": PAGE,
    "intake:import_progress": PAGE,
    "intake:import_mapping": FORM,
    "intake:import_commit": ACTION,
    "intake:import_check": ACTION,
    "intake:import_errors": PAGE,
    "intake:batch_list": PAGE,
    "intake:batch_create": ACTION,
    "intake:batch_detail": PAGE,
    "intake:batch_add_cases": ACTION,
    "intake:batch_fill": ACTION,
    "intake:batch_remove_cases": ACTION,
    "intake:batch_seal": ACTION,
    "intake:batch_delete": ACTION,
    "transfer:package_list": PAGE,
    "transfer:keys": PAGE,
    "transfer:key_pair_create": ACTION,
    "transfer:card_download": PAGE,
    "transfer:card_import": ACTION,
    "transfer:contract_card": PAGE,
    "transfer:contract_key_create": ACTION,
    "transfer:contract_card_download": PAGE,
    "transfer:contract_card_import": ACTION,
    "transfer:package_export": FORM,
    "transfer:package_import": FORM,
    "transfer:package_download": PAGE,
    "transfer:handover_job": PAGE,
    "transfer:handover_job_progress": PAGE,
    "transfer:handover_job_restart": ACTION,
    "transfer:slip_detail": PAGE,
    "transfer:slip_pdf": PAGE,
    "transfer:slip_receive": ACTION,
    "transfer:slip_confirm": ACTION,
    "transfer:usb_list": PAGE,
    "transfer:usb_register": ACTION,
    "transfer:usb_ledger_pdf": PAGE,
    "transfer:usb_ledger_xlsx": PAGE,
    "transfer:usb_detail": PAGE,
    "transfer:usb_lend": ACTION,
    "transfer:usb_return": ACTION,
    "transfer:usb_inspect": ACTION,
    "transfer:usb_wipe": ACTION,
    "tablet:app": PAGE,
    "tablet:service_worker": PAGE,
    "tablet:manifest": PAGE,
    "tablet:strings": PAGE,
    "tablet:api_enrol": ACTION,
    "tablet:api_enrol_status": ACTION,
    "tablet:api_challenge": ACTION,
    "tablet:api_signin": ACTION,
    "tablet:api_sync_down": ACTION,
    "tablet:api_sync_up": ACTION,
    "tablet:devices": FORM,
    "tablet:device_revoke": ACTION,
    "compliance:device_lost": ACTION,
    "erasure:index": PAGE,
    "erasure:erasure": PAGE,
    "erasure:start": ACTION,
    "erasure:witness_sign_in": ACTION,
    "erasure:witness_code": ACTION,
    "erasure:run": ACTION,
    "erasure:package": ACTION,
    "erasure:certificate_pdf": PAGE,
    "erasure:certificates": PAGE,
    "erasure:certificate_import": ACTION,
    "erasure:witness_code_issue": ACTION,
    "erasure:ward_certificate_pdf": PAGE,
}


def walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, object]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry.callback


def all_routes() -> list[tuple[str, str, object]]:
    return [r for r in walk(get_resolver().url_patterns) if not r[1].startswith("static/")]


def test_every_url_declares_a_policy():
    missing = [name for name, _route, view in all_routes() if policy_of(view) is None]
    assert not missing, f"URLs without a declared policy: {missing}"


def fill(route: str, world: dict) -> str:
    def replace(match):
        name = match.group(1).split(":")[-1]
        assert name in URL_PARAMS, f"add URL parameter '{name}' to URL_PARAMS"
        return URL_PARAMS[name](world)

    return "/" + re.sub(r"<([^>]+)>", replace, route)


@pytest.fixture
def world(people, contract, settings, tmp_path) -> dict:
    from genchi.intake import services as intake
    from genchi.transfer.models import HandoverJob
    from tests.transfer.handover_world import url_policy_world

    settings.DATA_DIR = tmp_path / "data"  # the package kept for download waits there
    data = "氏名,郵便番号,住所\r\n山田 太郎,154-0004,東京都世田谷区太子堂4-1-1\r\n".encode()
    run = intake.create_run(contract, data, filename="world.csv")
    intake.check_run(run)
    intake.commit_run(run)
    batch = intake.create_batch(contract, title="world")
    intake.add_cases(batch, list(contract.cases.all()))
    case = contract.cases.get()  # before the worlds below add their own cases
    handover = url_policy_world(people, contract)
    audit = OnSiteAudit.objects.create(
        contract=contract, audited_on=contract.starts_on, inspector="x", findings="x"
    )
    survey_case, pledge, designation, card, photo = fieldwork_world(people, contract)
    return {
        "survey_case": survey_case,
        "survey_closing": SurveyClosing.objects.create(contract=contract),
        "visit_photo": photo,
        "pledge": pledge,
        "surveyor_designation": designation,
        "id_card": card,
        "tablet_device": tablet_world(people, contract),
        "people": people,
        "contract": contract,
        "case": case,
        "import_run": run,
        "batch": batch,
        "handover_job": HandoverJob.objects.create(
            direction=HandoverJob.Direction.EXPORT, organisation=contract.ward, kind="cases"
        ),
        "result_photo": result_world(contract, case, handover["package"]),
        "onsite_audit": audit,
        "audit_action": AuditAction.objects.create(audit=audit, text="x"),
        "incident": Incident.objects.create(
            contract=contract,
            number=1,
            side=Incident.Side.CONTRACTOR,
            kind=Incident.Kind.RISK,
            found_at=timezone.now(),
            found_by="x",
            summary="x",
        ),
        **handover,
    }


def result_world(contract, case, package):
    """A result of the ward's case with one photo, as a result package would leave it."""
    import io
    import uuid

    from PIL import Image

    from genchi import vault
    from genchi.results.models import CaseResult, ResultPhoto, ReturnedResults
    from genchi.results.receiving import photo_context, photo_storage

    returned = ReturnedResults.objects.create(
        contract=contract, package=package, answers=uuid.uuid4(), batch_code="B1", case_count=1
    )
    result = CaseResult.objects.create(
        contract=contract, case=case, case_ref=case.ref, returned=returned, outcome="not_resident"
    )
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), "grey").save(jpeg, "JPEG")
    jpeg.seek(0)
    name = "x/1.jpg"
    stored = vault.save_encrypted_file(
        photo_storage(),
        f"results/{contract.pk}/{case.ref}/1.bin",
        vault.contract_scope(contract.pk, "ward"),
        photo_context(result, name),
        jpeg,
    )
    return ResultPhoto.objects.create(
        result=result, name=name, stored_as=stored, size=jpeg.tell(), sha256="0" * 64
    )


def fieldwork_world(people, contract):
    """A received case assigned to the surveyor (who may open it) with a visit and its
    photo, a pledge scan and an ID card of the surveyor."""
    import io

    from PIL import Image

    from genchi.fieldwork.services import assign_cases
    from genchi.parties import services as parties
    from genchi.parties.models import Designation
    from tests.fieldwork.world import receive

    case = receive(
        people,
        contract,
        rows=[("100-0001", "東京都千代田区千代田1-1", "", "試験 二郎")],
        number=901,
    )[0]
    surveyor = people[Role.SURVEYOR]
    assign_cases(contract, [case.case_ref], surveyor, by=people[Role.MANAGER])
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(png, "PNG")
    png.seek(0)
    png.name = "pledge.png"
    pledge = parties.record_pledge(surveyor, signed_on=contract.starts_on, scan=png)
    designation = Designation.objects.get(contract=contract, person=surveyor)
    card = parties.issue_id_card(designation)
    from genchi.fieldwork.services import record_visit
    from tests.fieldwork.visits import sample, visit_data

    visit = record_visit(case, visit_data(), [sample()], by=surveyor)
    return case, pledge, designation, card, visit.photos.get()


def tablet_world(people, contract):
    """A tablet enrolled for the surveyor (its key never used: a request is unsigned)."""
    from genchi.tablet.models import TabletDevice

    return TabletDevice.objects.create(
        contract=contract,
        surveyor=people[Role.SURVEYOR],
        public_key="",
        key_fingerprint="0" * 64,
        by=people[Role.MANAGER],
    )


def test_every_url_has_an_expectation():
    names = {name for name, _route, _view in all_routes()}
    assert not names - set(KINDS), f"add these URLs to KINDS: {sorted(names - set(KINDS))}"
    assert not set(KINDS) - names, f"no such URLs: {sorted(set(KINDS) - names)}"


# The session's own steps, open to everyone who may sign in.
SESSION_STEPS = {
    "accounts:login",
    "accounts:second_factor",
    "accounts:new_password",
    "accounts:password_change",
    "accounts:logout",
    "web:set_language",
}

# Posts that change no record of anyone: running the tamper check only adds the check and
# its log entry, and checking is what the auditor is there for.
AUDITOR_CHECKS = {"compliance:check_start"}


def test_the_auditor_only_reads():
    writes = [
        name
        for name, _route, view in all_routes()
        if "post" in KINDS[name]
        and name not in SESSION_STEPS | AUDITOR_CHECKS
        and Role.WARD_AUDITOR in policy_of(view).roles
    ]
    assert not writes, f"the auditor (read only) may post to: {writes}"


def call(client: Client, method: str, url: str) -> HttpResponse:
    """One request that leaves nothing behind: database and cookies as they were."""
    cookies = deepcopy(client.cookies)
    with transaction.atomic():
        response = getattr(client, method)(url)
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


@pytest.mark.django_db
def test_every_role_gets_what_the_policy_declares(world, client_for):
    problems = []
    for name, route, view in all_routes():
        declared = policy_of(view)
        methods = KINDS[name]
        url = fill(route, world)
        for method in ("get", "post"):
            response = call(Client(), method, url)
            status = response.status_code
            if declared.public:
                if status >= 500 or status == 403 or (status == 405) == (method in methods):
                    problems.append(f"{name}: public, {method} answered {status}")
            elif status != 302 or "/signin/" not in response["Location"]:
                problems.append(f"{name}: anonymous {method} got {status}, not the sign-in page")
        if declared.public:
            continue
        for role in Role:
            client = client_for(role)
            allowed = role in declared.roles
            for method in ("get", "post"):
                status = call(client, method, url).status_code
                if not allowed:
                    if status != 403:
                        problems.append(
                            f"{name}: {role} is not allowed but got {status} on {method}"
                        )
                elif method not in methods:
                    if status != 405:
                        problems.append(
                            f"{name}: {role} {method} should be refused with 405, got {status}"
                        )
                elif status in (403, 405) or status >= 500:
                    problems.append(f"{name}: {role} is allowed but got {status} on {method}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_person_without_role_is_told_and_logged(ward):
    from genchi.accounts.models import User
    from genchi.audit.models import AuditEntry
    from tests.conftest import PASSWORD

    person = User(username="no-role", organisation=ward, role="")
    person.set_password(PASSWORD)
    person.save()
    client = Client()
    client.post("/signin/", {"username": person.username, "password": PASSWORD})
    response = client.get("/signin/second-factor/")
    assert response.status_code == 403
    assert "役割または所属組織が登録されていません" in response.content.decode()
    assert AuditEntry.objects.filter(action="access.denied", detail__reason="no_role").exists()

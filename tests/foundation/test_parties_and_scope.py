"""Parties, designations and the scoping of contracts (C-O1, S13, D2)."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError

from genchi.access.scope import contract_for, contracts_for
from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.parties import services
from genchi.vault.models import DataKey
from tests.conftest import make_person, signed_in_client

pytestmark = pytest.mark.django_db


def test_contract_gets_its_own_data_key_and_a_log_entry(contract):
    live = DataKey.objects.filter(contract=contract, destroyed_at__isnull=True)
    assert [key.organisation for key in live] == [contract.ward]  # the ward's side, from day one
    assert AuditEntry.objects.filter(
        action="contract.created", contract_code=contract.code
    ).exists()


def test_undesignated_contractor_person_sees_nothing(people, contract, contractor):
    outsider = make_person("outsider", contractor, Role.HANDLER)
    assert not contracts_for(outsider).exists()
    client = signed_in_client(outsider)
    response = client.get(f"/contracts/{contract.code}/")
    assert response.status_code == 403
    assert contract.title not in client.get("/contracts/").content.decode()


def test_designation_ends_and_access_ends_with_it(people, contract):
    handler = people[Role.HANDLER]
    assert contract_for(handler, contract.code) == contract
    designation = contract.designations.get(person=handler)
    services.end_designation(designation, ends_on=dt.date.today() - dt.timedelta(days=1))
    assert not contracts_for(handler).exists()
    assert AuditEntry.objects.filter(action="designation.ended").exists()


def test_other_wards_contracts_are_invisible(people, contract, contractor):
    other_ward = services.create_organisation(code="other-ward", name="別区", kind="ward")
    other_admin = make_person("other-admin", other_ward, Role.WARD_ADMIN)
    assert not contracts_for(other_admin).exists()
    assert contracts_for(people[Role.WARD_AUDITOR]).get() == contract


def test_only_contractor_people_with_a_matching_role_can_be_designated(people, contract, ward):
    with pytest.raises(ValidationError):
        services.designate(
            contract=contract,
            person=people[Role.WARD_STAFF],
            role="handler",
            starts_on=contract.starts_on,
            by=people[Role.WARD_ADMIN],
        )
    with pytest.raises(ValidationError):
        services.designate(
            contract=contract,
            person=people[Role.SURVEYOR],
            role="manager",
            starts_on=contract.starts_on,
            by=people[Role.WARD_ADMIN],
        )


def test_ward_admin_creates_a_contract_through_the_ui(client_for, contractor):
    client = client_for(Role.WARD_ADMIN)
    response = client.post(
        "/contracts/new/",
        {
            "code": "c2027",
            "title": "令和9年度 居住実態調査",
            "contractor": contractor.pk,
            "fiscal_year": 2027,
            "starts_on": "2027-06-01",
            "ends_on": "2027-05-01",
            "max_cases": 500,
            "status": "draft",
        },
    )
    assert response.status_code == 200
    assert "終了日は開始日以降にしてください" in response.content.decode()
    response = client.post(
        "/contracts/new/",
        {
            "code": "c2027",
            "title": "令和9年度 居住実態調査",
            "contractor": contractor.pk,
            "fiscal_year": 2027,
            "starts_on": "2027-06-01",
            "ends_on": "2027-10-31",
            "max_cases": 500,
            "status": "draft",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/contracts/c2027/"


def test_manager_designates_a_surveyor_through_the_ui(client_for, people, contract, contractor):
    surveyor = make_person("new-surveyor", contractor, Role.SURVEYOR)
    client = client_for(Role.MANAGER)
    response = client.post(
        f"/contracts/{contract.code}/designations/",
        {"person": surveyor.pk, "role": "surveyor", "starts_on": "2026-07-01"},
    )
    assert response.status_code == 302
    assert contract.designations.filter(person=surveyor, role="surveyor").exists()


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(tmp_path),
        "GENCHI_PRODUCTION": "1",
        "GENCHI_ALLOWED_HOSTS": "genchi.example.lg.jp",
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "genchi", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_ward_admin_edits_a_contract_and_the_change_is_logged(client_for, contract):
    client = client_for(Role.WARD_ADMIN)
    assert client.get(f"/contracts/{contract.code}/edit/").status_code == 200
    response = client.post(
        f"/contracts/{contract.code}/edit/",
        {
            "code": "ignored",
            "title": contract.title,
            "contractor": contract.contractor_id,
            "fiscal_year": 2026,
            "starts_on": "2026-06-01",
            "ends_on": "2027-03-31",
            "max_cases": 450,
            "status": "active",
        },
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.max_cases == 450 and contract.code == "c2026"
    entry = AuditEntry.objects.filter(action="contract.updated").last()
    assert (
        entry.detail["before"]["max_cases"] == "500" and entry.detail["after"]["max_cases"] == "450"
    )

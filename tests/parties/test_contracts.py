"""Contracts: registered and changed by the ward's administrator, each with its own data
key and a log entry (W-O1)."""

import pytest

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.vault.models import DataKey

pytestmark = pytest.mark.django_db


def test_contract_gets_its_own_data_key_and_a_log_entry(contract):
    live = DataKey.objects.filter(contract=contract, destroyed_at__isnull=True)
    assert [key.organisation for key in live] == [contract.ward]  # the ward's side, from day one
    assert AuditEntry.objects.filter(
        action="contract.created", contract_code=contract.code
    ).exists()


def test_ward_admin_creates_a_contract_through_the_ui(client_for, contractor):
    client = client_for(Role.WARD_ADMIN)
    form = {
        "code": "c2027",
        "title": "令和9年度 居住実態調査",
        "contractor": contractor.pk,
        "fiscal_year": 2027,
        "starts_on": "2027-06-01",
        "max_cases": 500,
        "status": "draft",
    }
    response = client.post("/contracts/new/", {**form, "ends_on": "2027-05-01"})
    assert response.status_code == 200
    assert "終了日は開始日以降にしてください" in response.content.decode()
    response = client.post("/contracts/new/", {**form, "ends_on": "2027-10-31"})
    assert response.status_code == 302 and response["Location"] == "/contracts/c2027/"


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


def test_only_the_ward_admin_is_offered_to_change_a_contract(client_for, contract):
    edit = f'href="/contracts/{contract.code}/edit/"'
    assert edit in client_for(Role.WARD_ADMIN).get(f"/contracts/{contract.code}/").content.decode()
    for role in (Role.WARD_STAFF, Role.MANAGER):
        page = client_for(role).get(f"/contracts/{contract.code}/").content.decode()
        assert edit not in page
    assert (
        'href="/contracts/new/"'
        not in client_for(Role.WARD_STAFF).get("/contracts/").content.decode()
    )

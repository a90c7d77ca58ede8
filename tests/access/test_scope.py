"""Who sees a contract: the ward's people see their ward's, a contractor person only the
contracts they are designated on, and only while designated (C-O1, S10, D2)."""

import datetime as dt

import pytest

from genchi.access.scope import contract_for, contracts_for
from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.parties import services
from tests.conftest import make_person, signed_in_client

pytestmark = pytest.mark.django_db


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

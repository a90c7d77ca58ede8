"""Who sees a contract: the ward's people see their ward's, a contractor person only the
contracts they are designated on, and only while designated (C-O1, S10, D2)."""

import pytest
from django.core.exceptions import ValidationError

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.parties import services
from genchi.parties.selectors import (
    contract_for,
    contracts_for,
    does_office_work_on,
    office_contracts_for,
)
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
    services.end_designation(designation, by=people[Role.MANAGER])
    assert not contracts_for(handler).exists()
    entry = AuditEntry.objects.get(action="designation.ended")
    assert entry.detail["by"] == "c-manager" and entry.detail["person"] == handler.username


def test_ending_a_designation_takes_effect_at_once(people, contract):
    """Issue 12: ending on a *date* kept the person in until midnight; they imported five
    more cases after being removed. The same signed-in session is refused at once."""
    handler = people[Role.HANDLER]
    client = signed_in_client(handler)
    assert client.get(f"/contracts/{contract.code}/").status_code == 200
    services.end_designation(contract.designations.get(person=handler), by=people[Role.MANAGER])
    assert client.get(f"/contracts/{contract.code}/").status_code == 403
    assert client.get("/handover/").status_code in (200, 403)
    assert contract.code not in client.get("/handover/").content.decode()


def test_a_designation_ends_once(people, contract):
    designation = contract.designations.get(person=people[Role.HANDLER])
    services.end_designation(designation, by=people[Role.MANAGER])
    with pytest.raises(ValidationError):
        services.end_designation(designation, by=people[Role.MANAGER])


def test_access_is_the_intersection_of_role_and_designation(people, contract, contractor):
    """Issue 12: a surveyor made a handler (role change) saw the contract's slips while
    designated on it only as a surveyor. Office work needs both."""
    surveyor = people[Role.SURVEYOR]
    surveyor.role = Role.HANDLER
    surveyor.save(update_fields=["role"])
    assert contract_for(surveyor, contract.code) == contract  # still sees the contract
    assert not office_contracts_for(surveyor).exists()
    assert not does_office_work_on(surveyor, contract)
    handler = people[Role.HANDLER]
    assert office_contracts_for(handler).get() == contract
    handler.role = Role.SURVEYOR  # designated as handler, but now only a surveyor
    handler.save(update_fields=["role"])
    assert not office_contracts_for(handler).exists()


def test_other_wards_contracts_are_invisible(people, contract, contractor):
    other_ward = services.create_organisation(code="other-ward", name="別区", kind="ward")
    other_admin = make_person("other-admin", other_ward, Role.WARD_ADMIN)
    assert not contracts_for(other_admin).exists()
    assert contracts_for(people[Role.WARD_AUDITOR]).get() == contract

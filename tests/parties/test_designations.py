"""Designations of the handling manager, handlers and surveyors on a contract (C-O1, S13)."""

import pytest
from django.core.exceptions import ValidationError

from genchi.accounts.models import Role
from genchi.parties import services
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "designation"), [(Role.WARD_STAFF, "handler"), (Role.SURVEYOR, "manager")]
)
def test_only_contractor_people_with_a_matching_role_can_be_designated(
    people, contract, role, designation
):
    with pytest.raises(ValidationError):
        services.designate(
            contract=contract,
            person=people[role],
            role=designation,
            starts_on=contract.starts_on,
            by=people[Role.WARD_ADMIN],
        )


def test_manager_designates_a_surveyor_through_the_ui(client_for, people, contract, contractor):
    surveyor = make_person("new-surveyor", contractor, Role.SURVEYOR)
    client = client_for(Role.MANAGER)
    response = client.post(
        f"/contracts/{contract.code}/designations/",
        {"person": surveyor.pk, "role": "surveyor", "starts_on": "2026-07-01"},
    )
    assert response.status_code == 302
    assert contract.designations.filter(person=surveyor, role="surveyor").exists()

"""Designations of the handling manager, handlers and surveyors on a contract (C-O1, S13)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.parties import services
from tests import scratch_db
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


@pytest.mark.django_db
def test_a_day_of_ending_becomes_the_next_midnight(tmp_path, django_db_blocker):
    """Migration parties 0003: a designation that ended on a day stayed in force to the
    end of that day, so its moment of ending is the next midnight (local time)."""
    with django_db_blocker.unblock(), scratch_db.database(tmp_path / "d.sqlite3") as alias:
        old = scratch_db.migrate(
            alias, [("parties", "0002_recorded_by"), ("accounts", "0002_initial")]
        )
        objects, person, _, _, contract = scratch_db.a_contract(old, alias, username="h")
        day = contract.starts_on
        ended = objects("parties.Designation").create(
            contract=contract, person=person, role="handler", starts_on=day, ends_on=day
        )
        running = objects("parties.Designation").create(
            contract=contract, person=person, role="surveyor", starts_on=day
        )
        new = scratch_db.migrate(alias, [("parties", "0003_designation_ended_at")])
        rows = new.get_model("parties.Designation").objects.using(alias)
        ended_at = rows.get(pk=ended.pk).ended_at
        assert timezone.localtime(ended_at) == dt.datetime(
            2026, 6, 2, tzinfo=timezone.get_default_timezone()
        )
        assert rows.get(pk=running.pk).ended_at is None

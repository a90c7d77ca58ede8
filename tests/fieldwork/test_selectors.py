"""Received cases are read only through scoped selectors (D2)."""

from __future__ import annotations

from genchi.accounts.models import Role
from genchi.fieldwork.selectors import received_counts, survey_cases_for
from genchi.transfer import services


def test_only_manager_and_handlers_of_the_contract(
    sealed_batch, tmp_path, people, contract, contractor
):
    out = tmp_path / "o"
    out.mkdir()
    result = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    services.import_cases_package(result.path, by=people[Role.MANAGER])
    assert survey_cases_for(people[Role.MANAGER], contract).count() == 3
    assert survey_cases_for(people[Role.HANDLER], contract).count() == 3
    for role in (Role.SURVEYOR, Role.WARD_STAFF, Role.WARD_ADMIN, Role.WARD_AUDITOR):
        assert survey_cases_for(people[role], contract).count() == 0
    assert received_counts(people[Role.HANDLER]) == {contract.pk: 3}
    assert received_counts(people[Role.SURVEYOR]) == {}

    from tests.conftest import make_person

    undesignated = make_person("c-handler2", contractor, Role.HANDLER)
    assert survey_cases_for(undesignated, contract).count() == 0

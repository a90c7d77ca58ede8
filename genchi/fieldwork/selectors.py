"""Scoped reads of received cases (D2): only the manager and handlers of the contract.

Surveyors get their own cases once assignments exist (fieldwork issue); until then none.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from genchi.access.roles import CONTRACTOR_OFFICE, has_role
from genchi.parties.models import Contract
from genchi.parties.selectors import does_office_work_on, office_contracts_for

from .models import SurveyCase


def can_read_cases(user, contract: Contract) -> bool:
    return does_office_work_on(user, contract)


def survey_cases_for(user, contract: Contract) -> QuerySet[SurveyCase]:
    """Received cases of `contract` this person may read (none if not designated for office work)."""
    if not can_read_cases(user, contract):
        return SurveyCase.objects.none()
    return SurveyCase.objects.filter(contract=contract)


def received_counts(user) -> dict[int, int]:
    """Number of received cases per visible contract (no personal data read)."""
    if not has_role(user, CONTRACTOR_OFFICE):
        return {}
    contracts = office_contracts_for(user).annotate(n=Count("survey_cases"))
    return dict(contracts.values_list("pk", "n"))

"""Scoped reads of received cases (D2): only the manager and handlers of the contract.

Surveyors get their own cases once assignments exist (fieldwork issue); until then none.
"""

from __future__ import annotations

from django.db.models import QuerySet

from genchi.access.scope import contracts_for, does_office_work_on
from genchi.parties.models import Contract

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
    counts: dict[int, int] = {}
    for contract in contracts_for(user):
        if can_read_cases(user, contract):
            counts[contract.pk] = SurveyCase.objects.filter(contract=contract).count()
    return counts

"""Demo step: the demo surveyors get the received cases, split by town so that each walks
a neighbourhood (a stand-in until the area proposal of the planning pages exists)."""

from __future__ import annotations

from genchi.accounts.models import User
from genchi.parties.demo import CONTRACT_CODE
from genchi.parties.models import Contract
from genchi.parties.selectors import designated_surveyors

from .models import SurveyCase
from .services import assign_cases


def assign_demo_cases() -> None:
    contract = Contract.objects.filter(code=CONTRACT_CODE).first()
    if contract is None:
        return
    surveyors = list(designated_surveyors(contract))
    cases = list(
        SurveyCase.objects.filter(contract=contract, surveyor__isnull=True).order_by(
            "pref_code", "city", "id"
        )
    )
    if not surveyors or not cases:
        return
    manager = User.objects.filter(username="manager").first()
    # Contiguous runs in prefecture/city order: one surveyor, one part of the map.
    size = -(-len(cases) // len(surveyors))
    for n, surveyor in enumerate(surveyors):
        refs = [c.case_ref for c in cases[n * size : (n + 1) * size]]
        if refs:
            assign_cases(contract, refs, surveyor, by=manager)

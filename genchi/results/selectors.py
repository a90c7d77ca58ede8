"""Reads of the survey's results at the ward, scoped through the intake's access rules."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.http import Http404

from genchi.core.outcomes import Outcome
from genchi.geo.prefectures import PREFECTURES
from genchi.intake import selectors as intake_selectors
from genchi.parties.models import Contract

from .models import CaseResult, ContactSlip, ResultPhoto, ReturnedResults


def result_contracts_for(user) -> QuerySet[Contract]:
    return intake_selectors.intake_contracts_for(user)


def contract_for(user, code: str) -> Contract:
    contract = result_contracts_for(user).filter(code=code).first()
    if contract is None:
        raise Http404("契約が見つかりません")
    return contract


def result_of_case(case) -> CaseResult | None:
    return CaseResult.objects.filter(case_id=case.pk).prefetch_related("photos").first()


def visits_of(result: CaseResult) -> list[dict[str, str]]:
    return json.loads(result.visits) if result.visits else []


def photo_for(user, photo_id: int) -> ResultPhoto:
    photo = (
        ResultPhoto.objects.select_related("result__contract")
        .filter(pk=photo_id, result__contract__in=result_contracts_for(user))
        .first()
    )
    if photo is None:
        raise Http404("写真が見つかりません")
    return photo


@dataclass
class Summary:
    """Cases sent and results received of one contract, by outcome and prefecture."""

    contract: Contract
    sent: int
    received: int
    by_outcome: dict[str, int]
    by_pref: list[tuple[str, dict[str, int], int]] = field(default_factory=list)
    deliveries: list[ReturnedResults] = field(default_factory=list)

    @property
    def outstanding(self) -> int:
        return self.sent - self.received

    def as_json(self) -> dict:
        return {
            "contract": self.contract.code,
            "cases_sent": self.sent,
            "results_received": self.received,
            "outstanding": self.outstanding,
            "by_outcome": self.by_outcome,
            "by_prefecture": {pref: counts for pref, counts, _total in self.by_pref},
        }


def summary(contract: Contract) -> Summary:
    results = CaseResult.objects.filter(contract=contract)
    by_outcome = {code: 0 for code in Outcome.values}
    for row in results.values("outcome").annotate(n=Count("pk")):
        by_outcome[row["outcome"]] = row["n"]
    per_pref: dict[str, Counter] = {}
    for row in results.values("pref", "outcome").annotate(n=Count("pk")):
        per_pref.setdefault(row["pref"], Counter())[row["outcome"]] = row["n"]
    order = {name: i for i, name in enumerate(PREFECTURES)}
    by_pref = [
        (pref, {code: counts.get(code, 0) for code in Outcome.values}, sum(counts.values()))
        for pref, counts in sorted(per_pref.items(), key=lambda kv: order.get(kv[0], 99))
    ]
    return Summary(
        contract=contract,
        sent=intake_selectors.handed_over_count(contract),
        received=sum(by_outcome.values()),
        by_outcome=by_outcome,
        by_pref=by_pref,
        deliveries=list(ReturnedResults.objects.filter(contract=contract)),
    )


# --- For the yearly evaluation (J2): outcome groups named once, here ----------------------

CONFIRMED_OUTCOMES = frozenset({Outcome.RESIDENT_CONFIRMED})
"""Residence confirmed: the person was met at the address."""

RESIDENT_OUTCOMES = frozenset({Outcome.RESIDENT_CONFIRMED, Outcome.RESIDENT_PRESUMED})
"""Residence confirmed or presumed from the signs of life."""

SLIP_LEFT = frozenset({ContactSlip.IN_PERSON, ContactSlip.POSTED})
"""A contact slip (連絡票) reached the taxpayer: handed in person or posted."""


@dataclass(frozen=True)
class ResultFacts:
    """Per case of a contract: its outcome and whether a contact slip was left."""

    outcome: str
    slip_left: bool
    received_at: object


def result_facts(contract: Contract) -> dict[str, ResultFacts]:
    """The contract's results by case reference (no personal data)."""
    return {
        ref: ResultFacts(outcome, slip in SLIP_LEFT, received)
        for ref, outcome, slip, received in CaseResult.objects.filter(contract=contract)
        .values_list("case_ref", "outcome", "contact_slip", "returned__received_at")
        .order_by("case_ref")
    }


def deliveries_of(contract: Contract) -> list[ReturnedResults]:
    """The result packages received for the contract, oldest first."""
    return list(ReturnedResults.objects.filter(contract=contract).order_by("received_at", "pk"))

"""The yearly evaluation (J2): per contract and per fiscal year, what the survey brought —
residence confirmed, contacts after the contact slip, the amount collected after contact —
and what it cost, year over year. Outcomes are read through `results.selectors`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from genchi.access.roles import WARD_READERS, has_role
from genchi.parties.models import Contract
from genchi.parties.selectors import contracts_for
from genchi.results import selectors as results_selectors

from .models import FollowUpContact


def evaluation_contracts_for(user) -> QuerySet[Contract]:
    """The ward's contracts (the contractor has no follow-up: it is the ward's record)."""
    if not has_role(user, WARD_READERS):
        return Contract.objects.none()
    return contracts_for(user).select_related("ward", "contractor")


def contract_for(user, code: str) -> Contract:
    contract = evaluation_contracts_for(user).filter(code=code).first()
    if contract is None:
        raise Http404("契約が見つかりません")
    return contract


def contacts_of(contract: Contract, case_ref: str | None = None) -> QuerySet[FollowUpContact]:
    qs = FollowUpContact.objects.filter(contract=contract).select_related("by")
    if case_ref is not None:
        qs = qs.filter(case_ref=case_ref)
    return qs


def _ratio(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


@dataclass
class Figures:
    """The evaluation's figures for one contract, or summed over a fiscal year."""

    fiscal_year: int
    label: str
    cases: int = 0  # results received
    confirmed: int = 0  # residence confirmed (met the person)
    resident: int = 0  # confirmed or presumed
    slips_left: int = 0  # contact slip handed or posted
    contacted: int = 0  # cases with a slip left that contacted the ward afterwards
    payments: int = 0  # cases that paid after the slip
    collected: int = 0  # yen paid after the slip
    cost: int | None = None  # contract amount(s); None when one is not entered

    @property
    def confirmed_rate(self) -> float | None:
        return _ratio(self.confirmed, self.cases)

    @property
    def resident_rate(self) -> float | None:
        return _ratio(self.resident, self.cases)

    @property
    def contact_rate(self) -> float | None:
        return _ratio(self.contacted, self.slips_left)

    @property
    def cost_per_case(self) -> float | None:
        return _ratio(self.cost, self.cases)

    @property
    def cost_per_yen(self) -> float | None:
        return _ratio(self.cost, self.collected)

    def add(self, other: Figures) -> None:
        for name in ("cases", "confirmed", "resident", "slips_left", "contacted", "payments"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.collected += other.collected
        self.cost = None if self.cost is None or other.cost is None else self.cost + other.cost

    def as_json(self) -> dict:
        return {
            "fiscal_year": self.fiscal_year,
            "label": self.label,
            "cases": self.cases,
            "confirmed": self.confirmed,
            "resident": self.resident,
            "slips_left": self.slips_left,
            "contacted": self.contacted,
            "payments": self.payments,
            "collected": self.collected,
            "cost": self.cost,
            "confirmed_rate": self.confirmed_rate,
            "resident_rate": self.resident_rate,
            "contact_rate": self.contact_rate,
            "cost_per_case": self.cost_per_case,
            "cost_per_yen": self.cost_per_yen,
        }


def figures(contract: Contract) -> Figures:
    """One contract's figures from its results and its follow-up contacts."""
    facts = results_selectors.result_facts(contract)
    out = Figures(fiscal_year=contract.fiscal_year, label=contract.code, cost=contract.amount)
    out.cases = len(facts)
    out.confirmed = sum(
        1 for f in facts.values() if f.outcome in results_selectors.CONFIRMED_OUTCOMES
    )
    out.resident = sum(
        1 for f in facts.values() if f.outcome in results_selectors.RESIDENT_OUTCOMES
    )
    slipped = {ref for ref, f in facts.items() if f.slip_left}
    out.slips_left = len(slipped)
    contacted, paid = set(), set()
    for ref, kind, amount in contacts_of(contract).values_list("case_ref", "kind", "amount"):
        if ref not in slipped:
            continue  # the evaluation counts contacts after a slip only
        contacted.add(ref)
        if kind == FollowUpContact.Kind.PAYMENT:
            paid.add(ref)
            out.collected += amount
    out.contacted = len(contacted)
    out.payments = len(paid)
    return out


@dataclass
class Evaluation:
    contracts: list[Figures]
    years: list[Figures]  # oldest first


def evaluation_for(user) -> Evaluation:
    """Every contract of the ward with its figures, and the fiscal years summed."""
    per_contract = [
        figures(c) for c in evaluation_contracts_for(user).order_by("fiscal_year", "code")
    ]
    by_year: dict[int, Figures] = {}
    for f in per_contract:
        year = by_year.setdefault(f.fiscal_year, Figures(f.fiscal_year, str(f.fiscal_year), cost=0))
        year.add(f)
    years = [by_year[y] for y in sorted(by_year)]
    return Evaluation(contracts=per_contract, years=years)

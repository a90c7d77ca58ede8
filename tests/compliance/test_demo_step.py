"""The demo step (order 101): the checklist's inspector answers, this year's on-site audit,
and follow-up for the demo contract's results and an earlier year's contract, so the
evaluation compares two fiscal years."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from genchi.compliance import audits, checklist
from genchi.compliance.demo import fill_demo_compliance
from genchi.compliance.models import ChecklistAnswer, OnSiteAudit
from genchi.core.demo import demo_steps
from genchi.evaluation import selectors
from genchi.evaluation.models import FollowUpContact
from genchi.parties import services as parties
from genchi.parties.demo import CONTRACT_CODE, create_demo_parties
from genchi.parties.models import Contract
from tests.evaluation.world import KNOWN, results

pytestmark = pytest.mark.django_db


def test_the_step_is_registered_after_the_erasure_step():
    step = next(s for s in demo_steps() if s.name == "compliance-evaluation")
    assert step.order == 101


def test_the_demo_fills_the_checklist_an_audit_and_two_years_of_follow_up():
    create_demo_parties()
    contract = Contract.objects.get(code=CONTRACT_CODE)
    results(contract, KNOWN)
    earlier = parties.create_contract(
        code="demo-2025",
        title="令和7年度 転出滞納者居住実態調査業務委託",
        ward=contract.ward,
        contractor=contract.contractor,
        fiscal_year=2025,
        starts_on=dt.date(2025, 6, 1),
        ends_on=dt.date(2025, 10, 31),
        status=Contract.Status.CLOSED,
    )
    results(earlier, KNOWN)
    fill_demo_compliance()
    assert ChecklistAnswer.objects.filter(contract=contract).count() == len(
        checklist.INSPECTOR_ITEMS
    )
    assert all(r.status != "unanswered" for r in checklist.checklist(contract).rows)
    audit = OnSiteAudit.objects.get(contract=contract)
    assert audit.actions.count() == 1
    assert not audits.audit_due(contract, audit.audited_on)
    assert FollowUpContact.objects.filter(contract=contract).exists()
    assert FollowUpContact.objects.filter(contract=earlier).exists()
    staff = get_user_model().objects.get(username="ward-staff")
    years = selectors.evaluation_for(staff).years
    assert [y.fiscal_year for y in years] == [2025, 2026]
    assert all(y.cost and y.collected and y.cost_per_yen for y in years)

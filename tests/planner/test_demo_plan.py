"""The demo step plans the demo contract whether or not its cases have surveyors yet."""

from __future__ import annotations

from genchi.accounts.models import Role
from genchi.fieldwork.models import SurveyCase
from genchi.planner.demo import plan_demo_campaign
from genchi.planner.models import Campaign, CampaignPlan, SurveyorBase


def test_the_demo_step_plans_unassigned_cases_from_a_new_office(cases, people, contract, surveyor2):
    SurveyCase.objects.filter(contract=contract).update(surveyor=None, status="received")
    plan_demo_campaign(contract.code, people[Role.MANAGER].username)
    assert SurveyorBase.objects.get(contract=contract, person=None).label
    assert Campaign.objects.get(contract=contract).starts_on == contract.starts_on
    row = CampaignPlan.objects.get(contract=contract, current=True)
    planned = {s for r in row.plan["routes"] for s in r["stops"]}
    assert planned == {c.case_ref for c in cases}
    # The planner proposed the areas: both surveyors got some.
    assert {r["surveyor"] for r in row.plan["routes"]} == {
        people[Role.SURVEYOR].pk,
        surveyor2.pk,
    }


def test_the_demo_step_does_nothing_without_the_demo_contract(db):
    plan_demo_campaign("no-such-contract")
    assert not CampaignPlan.objects.exists()

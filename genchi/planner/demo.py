"""Demo step: the demo contract gets an office base (when it has none), a campaign of the
contract's period and a plan of the received cases, solved at once (no worker needed).

It works whether or not the cases were given to surveyors: confirmed surveyors are kept,
the planner proposes areas for the rest.
"""

from __future__ import annotations

import logging

from genchi.accounts.models import User
from genchi.parties.demo import CONTRACT_CODE
from genchi.parties.models import Contract

from .models import SurveyorBase
from .plans import PlanningRefused, campaign_of, save_campaign, solve_now

logger = logging.getLogger("genchi.planner")

# The contractor's office in the demo: near Shinjuku station.
DEMO_OFFICE = ("35.690921", "139.700258")
DEMO_WEEKDAYS = [0, 1, 2, 3, 4, 5]  # Monday to Saturday (date.weekday())
DEMO_SECONDS = 5  # the demo is built in seconds; a real campaign gets its own time limit


def plan_demo_campaign(code: str = CONTRACT_CODE, manager_name: str = "manager") -> None:
    contract = Contract.objects.filter(code=code).first()
    manager = User.objects.filter(username=manager_name).first()
    if contract is None or manager is None:
        return
    if not SurveyorBase.objects.filter(contract=contract, person__isnull=True).exists():
        SurveyorBase.objects.create(
            contract=contract,
            person=None,
            kind=SurveyorBase.Kind.OFFICE,
            label="本社(新宿)",
            lat=DEMO_OFFICE[0],
            lng=DEMO_OFFICE[1],
            by=manager,
        )
    campaign = campaign_of(contract)
    campaign.seconds = DEMO_SECONDS
    # Residence checks need a revisit at another time: the demo's surveyors also work
    # Saturdays, so a revisit can be a weekend one, not only a short evening route.
    campaign.weekdays = DEMO_WEEKDAYS
    save_campaign(campaign, manager)
    try:
        solve_now(contract, manager)
    except PlanningRefused as exc:
        # No cases came in (the handover step found no batch): nothing to plan.
        logger.warning("demo plan not made: %s", exc)

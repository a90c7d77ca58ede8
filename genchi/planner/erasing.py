"""The planner's part of a contract's erasure on the contractor side (C-O7, S11): the
surveyors' bases, the area proposals and the campaign with every version of its plan
(which hold positions of the cases). Called by genchi.erasure inside its transaction."""

from __future__ import annotations

from genchi.parties.models import Contract

from .models import AreaProposal, AreaProposalCase, Campaign, CampaignPlan, SurveyorBase


def erase_contract(contract: Contract) -> dict[str, int]:
    """Delete every row of `contract` this app holds. Returns counts by kind."""
    counts = {
        "plans": CampaignPlan.objects.filter(contract=contract).count(),
        "area_proposals": AreaProposal.objects.filter(contract=contract).count(),
        "bases": SurveyorBase.objects.filter(contract=contract).count(),
    }
    CampaignPlan.objects.filter(contract=contract).delete()
    AreaProposalCase.objects.filter(proposal__contract=contract).delete()
    AreaProposal.objects.filter(contract=contract).delete()
    Campaign.objects.filter(contract=contract).delete()
    SurveyorBase.objects.filter(contract=contract).delete()
    return counts

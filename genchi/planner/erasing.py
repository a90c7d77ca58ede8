"""The planner's part of a contract's erasure on the contractor side (C-O7, S11): the
surveyors' bases, the area proposals and the campaign with every version of its plan
(which hold positions of the cases). Called by genchi.erasure inside its transaction."""

from __future__ import annotations

import shutil

from django.db import transaction

from genchi.jobs.files import private_folder
from genchi.parties.models import Contract

from .models import AreaProposal, AreaProposalCase, Campaign, CampaignPlan, SurveyorBase


def erase_contract(contract: Contract) -> dict[str, int]:
    """Delete every row of `contract` this app holds. Returns counts by kind."""
    counts = {
        "plans": CampaignPlan.objects.filter(contract=contract).count(),
        "area_proposals": AreaProposal.objects.filter(contract=contract).count(),
        "bases": SurveyorBase.objects.filter(contract=contract).count(),
    }
    # What a solve job left waiting for its worker (genchi.jobs.files) goes once committed.
    folders = [private_folder(plan) for plan in CampaignPlan.objects.filter(contract=contract)]
    transaction.on_commit(lambda: [shutil.rmtree(f, ignore_errors=True) for f in folders])
    CampaignPlan.objects.filter(contract=contract).delete()
    AreaProposalCase.objects.filter(proposal__contract=contract).delete()
    AreaProposal.objects.filter(contract=contract).delete()
    Campaign.objects.filter(contract=contract).delete()
    SurveyorBase.objects.filter(contract=contract).delete()
    return counts

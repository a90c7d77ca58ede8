"""Writes on received cases: assigning them to surveyors (C-S2.4), logged in the same
transaction as the write."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.parties.models import Contract
from genchi.parties.selectors import does_office_work_on, is_designated_surveyor, may_work_on

from .models import SurveyCase

# Cases out in the field keep their surveyor: moving them is the visits issue's business.
ASSIGNABLE = frozenset({SurveyCase.Status.RECEIVED, SurveyCase.Status.ASSIGNED})


@transaction.atomic
def assign_cases(contract: Contract, refs: list[str], surveyor, *, by) -> int:
    """Assign the cases `refs` of `contract` to `surveyor` (None: take them back). Only a
    surveyor designated on the contract who passes the gate (training within a year and a
    pledge, `parties.selectors.may_work_on`) can be given cases."""
    if by is not None and not does_office_work_on(by, contract):
        raise PermissionDenied(_("この契約の案件を割り当てる権限がありません。"))
    if surveyor is not None:
        if not is_designated_surveyor(surveyor, contract):
            raise ValidationError(
                _("%(person)s はこの契約の調査員に指定されていません。") % {"person": surveyor}
            )
        reasons = may_work_on(surveyor, contract)
        if reasons:
            raise ValidationError(
                [_("%(person)s には割り当てられません。") % {"person": surveyor}, *reasons]
            )
    cases = list(
        SurveyCase.objects.select_for_update()
        .filter(contract=contract, case_ref__in=refs)
        .only("pk", "case_ref", "status", "surveyor_id", "contract_id")
    )
    if not cases:
        raise ValidationError(_("案件を選んでください。"))
    stuck = [c.case_ref for c in cases if c.status not in ASSIGNABLE]
    if stuck:
        raise ValidationError(
            _("訪問が始まった案件は割り当てを変えられません: %(refs)s") % {"refs": ", ".join(stuck)}
        )
    status = SurveyCase.Status.ASSIGNED if surveyor is not None else SurveyCase.Status.RECEIVED
    SurveyCase.objects.filter(pk__in=[c.pk for c in cases]).update(surveyor=surveyor, status=status)
    record(
        "survey_case.assigned" if surveyor is not None else "survey_case.unassigned",
        object_type="fieldwork.surveycase",
        contract=contract,
        detail={
            "surveyor": surveyor.username if surveyor is not None else None,
            "refs": sorted(c.case_ref for c in cases),
            "before": {c.case_ref: c.surveyor_id for c in cases},
        },
    )
    return len(cases)

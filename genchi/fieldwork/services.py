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


# A position the office set by hand (latitude/longitude), above the engine's 0–3
# (genchi.geo: 0 nothing, 1 prefecture, 2 city, 3 town).
LEVEL_SET_BY_OFFICE = 4

# Japan and its islands, roughly: a point outside is a typo (swapped or mistyped degrees).
JAPAN_LAT = (20.0, 46.0)
JAPAN_LNG = (122.0, 154.0)


@transaction.atomic
def correct_position(
    contract: Contract,
    ref: str,
    *,
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    by,
) -> SurveyCase:
    """Give a case whose address was not read below prefecture level a position: either
    a corrected address read by the address engine (at least to the city), or latitude
    and longitude set by hand. The received address itself (J3) is kept as it came.
    Errors are ValidationErrors keyed by field (`address`, `lat`, `lng`)."""
    from .addresses import address_fields

    if by is not None and not does_office_work_on(by, contract):
        raise PermissionDenied(_("この契約の案件を修正する権限がありません。"))
    case = SurveyCase.objects.select_for_update().filter(contract=contract, case_ref=ref).first()
    if case is None:
        raise ValidationError(_("案件が見つかりません。"))
    before = {"level": case.geocode_level, "pref": case.pref, "city": case.city}
    address = (address or "").strip()
    if address:
        fields = address_fields(address)
        if fields["geocode_level"] < 2 or not fields["lat"]:
            raise ValidationError(
                {
                    "address": _(
                        "この住所は市区町村まで判定できませんでした。"
                        "都道府県と市区町村から書き直すか、緯度経度を入力してください。"
                    )
                }
            )
        for name, value in fields.items():
            setattr(case, name, value)
        method = "address"
    else:
        errors = {}
        if lat is None:
            errors["lat"] = _("緯度を入力してください。")
        elif not JAPAN_LAT[0] <= lat <= JAPAN_LAT[1]:
            errors["lat"] = _("緯度は日本国内(北緯20〜46度)の値を入力してください。")
        if lng is None:
            errors["lng"] = _("経度を入力してください。")
        elif not JAPAN_LNG[0] <= lng <= JAPAN_LNG[1]:
            errors["lng"] = _("経度は日本国内(東経122〜154度)の値を入力してください。")
        if errors:
            raise ValidationError(errors)
        case.lat, case.lng = f"{lat:.6f}", f"{lng:.6f}"
        case.geocode_level = LEVEL_SET_BY_OFFICE
        method = "coordinates"
    case.save(
        update_fields=["pref", "pref_code", "city", "town", "rest", "lat", "lng", "geocode_level"]
    )
    record(
        "survey_case.position_corrected",
        obj=case,
        contract=contract,
        detail={
            "ref": case.case_ref,
            "method": method,
            "before": before,
            "after": {"level": case.geocode_level, "pref": case.pref, "city": case.city},
        },
    )
    return case

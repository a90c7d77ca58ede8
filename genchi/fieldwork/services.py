"""Writes on received cases: assigning them to surveyors (C-S2.4), recording visits with
their photos (J4, J5), and the office's review of each case's outcome; each logged in the
same transaction as the write."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.core.outcomes import Outcome
from genchi.parties.models import Contract
from genchi.parties.selectors import does_office_work_on, is_designated_surveyor, may_work_on

from . import photos as photo_store
from . import selectors
from .models import Review, SurveyCase, Visit, VisitPhoto
from .signals import visit_result_recorded

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
        SurveyCase.objects.select_for_update(of=("self",), no_key=True)
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
    case = (
        SurveyCase.objects.select_for_update(of=("self",), no_key=True)
        .filter(contract=contract, case_ref=ref)
        .first()
    )
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


# --- Visits (issue 15 item 1) -------------------------------------------------------------

# The fields of a visit that `record_visit` takes, in the order met at the door (S3: these
# and nothing else). Free text: interview, notes; encrypted with the rest of the visit.
VISIT_FIELDS = (
    "visited_at",
    "position_source",
    "lat",
    "lng",
    "accuracy_m",
    "building_type",
    "nameplate",
    "mailbox_name",
    "mail_piled",
    "electricity",
    "gas",
    "water",
    "lights",
    "washing",
    "curtains",
    "vacancy_signs",
    "answered",
    "interviewee",
    "interview",
    "contact_slip",
    "tenure",
    "landlord_name",
    "landlord_phone",
    "outcome",
    "needs_revisit",
    "notes",
)
# Cases on which a visit can be recorded: assigned, or visited before (under review too).
VISITABLE = frozenset({SurveyCase.Status.ASSIGNED, SurveyCase.Status.VISITED})
# A clock a little ahead of the server's is not a visit in the future.
CLOCK_SKEW = dt.timedelta(minutes=10)


def visit_problems(data: dict) -> dict[str, str]:
    """The visit rules, field by field (the office form and the tablet both go through
    them): {field: Japanese reason}; empty when the visit holds together."""
    errors: dict[str, str] = {}
    at = data.get("visited_at")
    if at is not None and at > timezone.now() + CLOCK_SKEW:
        errors["visited_at"] = _("未来の日時は入力できません。")
    has_lat, has_lng = bool(data.get("lat")), bool(data.get("lng"))
    source = data.get("position_source")
    if has_lat != has_lng:
        errors["lng" if has_lat else "lat"] = _("緯度と経度は両方入力してください。")
    elif has_lat:
        try:
            lat, lng = float(data["lat"]), float(data["lng"])
        except (TypeError, ValueError):
            errors["lat"] = _("緯度・経度は数値で入力してください。")
        else:
            # Japan and its islands, with a margin.
            if not (20.0 <= lat <= 46.5 and 122.0 <= lng <= 154.5):
                errors["lat"] = _("緯度・経度が日本の範囲外です。")
        if source == Visit.PositionSource.NONE:
            errors["position_source"] = _("位置を入力した場合は取得方法を選んでください。")
    elif source in (Visit.PositionSource.GPS, Visit.PositionSource.MANUAL):
        errors["lat"] = _("位置の取得方法を選んだ場合は緯度・経度を入力してください。")
    if source == Visit.PositionSource.GPS and data.get("accuracy_m") is None:
        errors["accuracy_m"] = _("GPSの位置には精度(m)を入力してください。")
    interviewee = data.get("interviewee")
    interview = (data.get("interview") or "").strip()
    if interviewee == Visit.Interviewee.NONE and interview:
        errors["interview"] = _("面談なしの場合、面談の内容は書けません。")
    elif interviewee and interviewee != Visit.Interviewee.NONE and not interview:
        errors["interview"] = _("面談の内容を簡潔に、中立的な表現で書いてください。")
    answered = data.get("answered")
    if not answered and interviewee in (Visit.Interviewee.PERSON, Visit.Interviewee.FAMILY):
        errors["interviewee"] = _("応答がなかった訪問で本人・家族と面談したことにはできません。")
    if not answered and data.get("contact_slip") == Visit.ContactSlip.IN_PERSON:
        errors["contact_slip"] = _("応答がなかった場合、連絡票は手渡しにできません。")
    if data.get("outcome") == Outcome.RESIDENT_CONFIRMED and interviewee not in (
        Visit.Interviewee.PERSON,
        Visit.Interviewee.FAMILY,
    ):
        errors["outcome"] = _("居住確認は本人または家族と面談できた場合だけです。")
    has_landlord = bool(data.get("landlord_name") or data.get("landlord_phone"))
    if has_landlord and data.get("tenure") == Visit.Tenure.OWNED:
        errors["landlord_name"] = _("持ち家の場合、大家・管理会社は入力しません。")
    return errors


def can_record_visit(user, case: SurveyCase) -> bool:
    """The contract's office on all its cases; a surveyor on the cases assigned to them
    (C-S2.4); nobody else."""
    if does_office_work_on(user, case.contract):
        return True
    # A surveyor's scope is the cases assigned to them now (read from the database).
    return selectors.survey_cases_for(user).filter(pk=case.pk).exists()


def record_visit(
    case: SurveyCase, data: dict, photos: list = (), *, by, source: str = Visit.Source.OFFICE
) -> Visit:
    """Record one visit of `case` (by its assigned surveyor, entered by them or by the
    office) with its photos (uploads or bytes). The case counts the visit, moves to
    visited and takes the visit's outcome, to be reviewed by the office. The planner
    hears of it (`visit_result_recorded`) in the same transaction."""
    if not can_record_visit(by, case):
        raise PermissionDenied(_("この案件の訪問を記録する権限がありません。"))
    problems = visit_problems(data)
    if problems:
        raise ValidationError(problems)
    photos = list(photos)
    if len(photos) > photo_store.MAX_PHOTOS_PER_VISIT:
        raise ValidationError(
            _("写真は1回の訪問につき %(n)d 枚までです。") % {"n": photo_store.MAX_PHOTOS_PER_VISIT}
        )
    cleaned = []
    for n, upload in enumerate(photos, start=1):
        try:
            cleaned.append(photo_store.clean_photo(upload))
        except ValidationError as exc:
            raise ValidationError(
                {"photos": _("写真 %(n)d 枚目: %(reason)s") % {"n": n, "reason": exc.messages[0]}}
            ) from exc
    stored: list[str] = []
    try:
        with transaction.atomic():
            visit = _save_visit(case, data, cleaned, stored, by=by, source=source)
            # In the transaction: the planner keeps the result with the visit (both or
            # neither) and does its slow work after the commit, in the background.
            visit_result_recorded.send(
                sender=Visit,
                case=case,
                visited_at=visit.visited_at,
                needs_revisit=visit.needs_revisit,
                by=by,
            )
    except BaseException:
        photo_store.discard(stored)  # the rows are gone: so are their files
        raise
    return visit


def _save_visit(case, data, cleaned, stored, *, by, source) -> Visit:
    locked = SurveyCase.objects.select_for_update(of=("self",), no_key=True).get(pk=case.pk)
    if locked.surveyor_id is None:
        raise ValidationError(_("調査員が割り当てられていない案件には訪問を記録できません。"))
    if locked.status not in VISITABLE:
        raise ValidationError(
            _("この案件は「%(status)s」のため、訪問を追加できません。")
            % {"status": locked.get_status_display()}
        )
    if data["visited_at"] < locked.created_at - CLOCK_SKEW:
        raise ValidationError({"visited_at": _("案件を受領する前の日時です。")})
    fields = {name: data.get(name) for name in VISIT_FIELDS}
    for text in ("lat", "lng", "interview", "landlord_name", "landlord_phone", "notes"):
        fields[text] = str(fields[text] or "").strip()
    if fields["lat"]:
        fields["lat"], fields["lng"] = f"{float(fields['lat']):.6f}", f"{float(fields['lng']):.6f}"
    visit = Visit.objects.create(
        case=locked,
        contract_id=locked.contract_id,
        number=locked.visit_count + 1,
        surveyor_id=locked.surveyor_id,
        source=source,
        by=by,
        **fields,
    )
    flagged = []
    for photo in cleaned:
        row = VisitPhoto(
            visit=visit,
            case=locked,
            contract_id=locked.contract_id,
            kind=photo.kind,
            width=photo.width,
            height=photo.height,
            size=len(photo.data),
            phash=photo.phash,
        )
        row.duplicate_of = _duplicate_of(locked, photo.phash)
        name = photo_store.store(locked.contract_id, case.contract.code, row.uid, photo)
        stored.append(name)
        row.storage_name = name
        row.save()
        if row.duplicate_of is not None:
            flagged.append({"photo": row.pk, "same_as": row.duplicate_of_id})
    slip = fields["contact_slip"] in (Visit.ContactSlip.IN_PERSON, Visit.ContactSlip.POSTED)
    SurveyCase.objects.filter(pk=locked.pk).update(
        visit_count=F("visit_count") + 1,
        status=SurveyCase.Status.VISITED,
        outcome=visit.outcome,
        needs_revisit=visit.needs_revisit,
        contact_slip_left=locked.contact_slip_left or slip,
        review=Review.PENDING,
    )
    record(
        "visit.recorded",
        obj=visit,
        contract=case.contract,
        detail={
            "ref": locked.case_ref,
            "number": visit.number,
            "source": source,
            "surveyor": locked.surveyor_id,
            "photos": len(cleaned),
            "duplicates": flagged,
        },
    )
    case.refresh_from_db()
    return visit


def _duplicate_of(case: SurveyCase, phash: str) -> VisitPhoto | None:
    """The earliest photo of ANOTHER case of the same contractor that is the same
    picture (perceptual hashes within DUPLICATE_DISTANCE bits), or None."""
    others = (
        VisitPhoto.objects.filter(contract__contractor_id=case.contract.contractor_id)
        .exclude(case=case)
        .order_by("id")
        .values_list("pk", "phash")
    )
    for pk, other in others.iterator(chunk_size=2000):
        if photo_store.hash_distance(phash, other) <= photo_store.DUPLICATE_DISTANCE:
            return VisitPhoto.objects.get(pk=pk)
    return None


# --- Review of the outcome (issue 15 item 4) ----------------------------------------------


@transaction.atomic
def review_case(case: SurveyCase, *, approve: bool, reason: str = "", by) -> SurveyCase:
    """The manager or a handler approves a visited case's outcome (the case is done), or
    sends it back to the surveyor with a reason (another visit is needed)."""
    if not does_office_work_on(by, case.contract):
        raise PermissionDenied(_("この契約の案件を確認する権限がありません。"))
    locked = SurveyCase.objects.select_for_update(of=("self",), no_key=True).get(pk=case.pk)
    if locked.status != SurveyCase.Status.VISITED or locked.review != Review.PENDING:
        raise ValidationError(_("確認待ちの案件ではありません。"))
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationError({"reason": _("差し戻しの理由を書いてください。")})
    locked.reviewed_by = by
    locked.reviewed_at = timezone.now()
    if approve:
        locked.review = Review.APPROVED
        locked.status = SurveyCase.Status.DONE
        locked.review_reason = ""
        locked.needs_revisit = False
    else:
        locked.review = Review.SENT_BACK
        locked.review_reason = reason
        locked.needs_revisit = True
    locked.save(
        update_fields=[
            "review",
            "status",
            "review_reason",
            "needs_revisit",
            "reviewed_by",
            "reviewed_at",
        ]
    )
    record(
        "survey_case.approved" if approve else "survey_case.sent_back",
        obj=locked,
        contract=locked.contract,
        detail={"ref": locked.case_ref, "outcome": locked.outcome},
    )
    if not approve:
        last = locked.visits.order_by("-number").values_list("visited_at", flat=True).first()
        # The case needs another visit: the planner re-plans the surveyor's days.
        visit_result_recorded.send(
            sender=SurveyCase, case=locked, visited_at=last, needs_revisit=True, by=by
        )
    return locked

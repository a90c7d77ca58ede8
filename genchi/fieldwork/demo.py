"""Demo step: a few visits entered through the office form's service with the shipped
sample photos, once the planner's demo step has assigned the cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.utils import timezone

from genchi.accounts.models import User
from genchi.parties.demo import CONTRACT_CODE
from genchi.parties.models import Contract

from .models import SurveyCase
from .services import record_visit, review_case

# --- Demo visits (issue 15): a few cases visited through the office form's service -------

SAMPLE_PHOTOS = Path(__file__).resolve().parent / "data" / "sample_photos"

# (outcome, what the surveyor saw, photos, review): each shipped photo used once, so none
# is flagged as a duplicate of another case's.
DEMO_VISITS = [
    (
        "confirmed",
        {
            "answered": True,
            "interviewee": "person",
            "interview": "本人が応対し、連絡票を受け取った。",
            "contact_slip": "in_person",
            "nameplate": "taxpayer",
            "mailbox_name": "taxpayer",
            "building_type": "detached",
            "tenure": "owned",
        },
        ["house-1.jpg", "door-1.jpg"],
        "approve",
    ),
    (
        "presumed",
        {
            "nameplate": "taxpayer",
            "mailbox_name": "taxpayer",
            "electricity": "moving",
            "washing": "yes",
            "building_type": "apartment",
            "tenure": "rented",
            "landlord_name": "新宿住宅管理株式会社",
            "landlord_phone": "03-0000-0000",
        },
        ["apartment-1.jpg"],
        "",
    ),
    (
        "not_living",
        {
            "nameplate": "other",
            "mailbox_name": "other",
            "answered": True,
            "interviewee": "neighbour",
            "interview": "隣の住人によると、別の家族が昨年から住んでいる。",
            "building_type": "detached",
            "tenure": "unknown",
        },
        ["house-2.jpg"],
        "send_back",
    ),
    (
        "impossible",
        {"building_type": "autolock", "contact_slip": "not_left", "tenure": "rented"},
        ["apartment-2.jpg"],
        "",
    ),
    (
        "presumed",
        {"electricity": "moving", "gas": "moving", "lights": "yes", "building_type": "detached"},
        ["door-2.jpg", "meters-1.jpg"],
        "",
    ),
]


def _demo_visit(outcome: str, seen: dict, visited_at) -> dict:
    data = {
        "visited_at": visited_at,
        "position_source": "none",
        "lat": "",
        "lng": "",
        "accuracy_m": None,
        "building_type": "detached",
        "nameplate": "none",
        "mailbox_name": "none",
        "mail_piled": "no",
        "electricity": "unknown",
        "gas": "unknown",
        "water": "unknown",
        "lights": "unknown",
        "washing": "unknown",
        "curtains": "unknown",
        "vacancy_signs": "no",
        "answered": False,
        "interviewee": "none",
        "interview": "",
        "contact_slip": "posted",
        "tenure": "unknown",
        "landlord_name": "",
        "landlord_phone": "",
        "outcome": outcome,
        "needs_revisit": outcome == "impossible",
        "notes": "",
    }
    data.update(seen)
    return data


def record_demo_visits() -> None:
    """The handler enters visits the demo surveyors phoned in, with the shipped sample
    photos; the manager approves one case and sends one back."""
    contract = Contract.objects.filter(code=CONTRACT_CODE).first()
    handler = User.objects.filter(username="handler").first()
    manager = User.objects.filter(username="manager").first()
    if contract is None or handler is None or manager is None:
        return
    cases = list(
        SurveyCase.objects.filter(
            contract=contract, status=SurveyCase.Status.ASSIGNED, surveyor__isnull=False
        ).order_by("id")[: len(DEMO_VISITS)]
    )
    now = timezone.now().replace(second=0, microsecond=0)
    for n, (case, (outcome, seen, photos, review)) in enumerate(
        zip(cases, DEMO_VISITS, strict=False)
    ):
        # The cases arrived minutes ago: the visits follow, a minute apart.
        at = max(case.created_at, now - dt.timedelta(minutes=len(cases) - n))
        data = _demo_visit(outcome, seen, at)
        images = [(SAMPLE_PHOTOS / name).read_bytes() for name in photos]
        record_visit(case, data, images, by=handler)
        if review == "approve":
            review_case(case, approve=True, by=manager)
        elif review == "send_back":
            review_case(
                case,
                approve=False,
                reason="近隣の方の話だけなので、もう一度訪問してください。",
                by=manager,
            )

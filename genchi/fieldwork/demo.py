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
        "resident_confirmed",
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
        "resident_presumed",
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
        "not_resident",
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
        "not_surveyable",
        {"building_type": "autolock", "contact_slip": "not_left", "tenure": "rented"},
        ["apartment-2.jpg"],
        "",
    ),
    (
        "resident_presumed",
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
        "needs_revisit": outcome == "not_surveyable",
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


# --- Demo results (issue 15 item 6): a small second batch surveyed, reported, returned ---

RESULT_BATCH_SIZE = 6
# (outcome, what the surveyor saw): every outcome once, the last a second presumed.
RESULT_VISITS = [
    ("resident_confirmed", DEMO_VISITS[0][1]),
    ("resident_presumed", DEMO_VISITS[1][1]),
    ("not_resident", DEMO_VISITS[2][1]),
    ("whereabouts_unknown", {"building_type": "unknown", "contact_slip": "not_left"}),
    ("not_surveyable", DEMO_VISITS[3][1]),
    ("resident_presumed", DEMO_VISITS[4][1]),
]


def _mirrored(name: str) -> bytes:
    """A shipped sample photo mirrored: another picture (not flagged as a duplicate of
    the first demo visits' photos)."""
    import io

    from PIL import Image, ImageOps

    with Image.open(SAMPLE_PHOTOS / name) as image:
        out = io.BytesIO()
        ImageOps.mirror(image.convert("RGB")).save(out, "JPEG", quality=85)
    return out.getvalue()


def return_demo_results(write=print) -> None:
    """The whole chain for a second, small batch: the ward seals and sends it, the
    contractor receives it, assigns it, records a visit for each case (office form's
    service, sample photos), approves them, builds the report and returns the results;
    the ward imports them (its case pages then show the outcomes)."""
    import tempfile

    from genchi.intake import services as intake
    from genchi.transfer import services as transfer

    from . import closing
    from .services import assign_cases

    contract = Contract.objects.filter(code=CONTRACT_CODE).first()
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["ward-staff", "manager", "handler", "surveyor1"])
    }
    if contract is None or len(users) < 4:
        return
    staff, manager, handler = users["ward-staff"], users["manager"], users["handler"]
    batch = intake.create_batch(contract, title="第2回 委託分(デモ・結果返却まで)")
    if not intake.add_cases(batch, intake.eligible_cases(contract), limit=RESULT_BATCH_SIZE):
        return
    intake.seal_batch(batch)
    with tempfile.TemporaryDirectory(prefix="genchi-demo-") as folder:
        out = Path(folder)
        sent = transfer.send_item("cases", batch.pk, out, by=staff)
        received = transfer.import_cases_package(sent.path, by=manager)
        package_id = str(received.package.package_id)
        cases = list(SurveyCase.objects.filter(received_in=received.package).order_by("id"))
        assign_cases(contract, [c.case_ref for c in cases], users["surveyor1"], by=manager)
        now = timezone.now().replace(second=0, microsecond=0)
        photos = [
            "house-1.jpg",
            "apartment-1.jpg",
            "house-2.jpg",
            "door-1.jpg",
            "apartment-2.jpg",
            "door-2.jpg",
        ]
        for n, (case, (outcome, seen)) in enumerate(zip(cases, RESULT_VISITS, strict=False)):
            case.refresh_from_db()
            at = max(case.created_at, now - dt.timedelta(minutes=len(cases) - n))
            record_visit(case, _demo_visit(outcome, seen, at), [_mirrored(photos[n])], by=handler)
            review_case(case, approve=True, by=manager)
        closing.build_report(contract, out, by=manager, package_id=package_id)
        (returned,) = closing.return_results(contract, out, by=manager, package_id=package_id)
        result = transfer.receive_package(returned.path, kind="results", by=staff)
    write(
        f"結果返却: 第2回 委託分 {result.created} 件の結果を区が取り込みました"
        f"(票 {returned.slip_number})。"
    )

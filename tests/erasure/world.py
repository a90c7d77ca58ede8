"""A contract surveyed to its end on one installation hosting both sides: received by the
contractor, visited with photos, reported, results returned and imported by the ward;
and a tablet enrolled for it. What an erasure starts from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genchi.accounts.models import Role
from genchi.fieldwork import closing
from genchi.fieldwork.models import SurveyCase
from genchi.fieldwork.services import assign_cases, record_visit, review_case
from genchi.tablet.models import TabletDevice
from genchi.transfer import services as transfer
from tests.fieldwork.visits import photo_with_metadata, visit_data
from tests.fieldwork.world import ROWS, receive


@dataclass
class Surveyed:
    cases: list[SurveyCase]
    photos: list[bytes]  # the pictures as handed in (before cleaning)
    tablet: TabletDevice
    results_path: Path


def survey_to_the_end(people, contract, folder: Path, *, rows=ROWS, plan: bool = False) -> Surveyed:
    """`plan`: the office base and an area proposal too (the planner's rows)."""
    cases = receive(people, contract, rows)
    manager, surveyor = people[Role.MANAGER], people[Role.SURVEYOR]
    if plan:
        from genchi.planner import areas_services as areas
        from genchi.planner.models import SurveyorBase

        SurveyorBase.objects.create(
            contract=contract,
            person=None,
            kind=SurveyorBase.Kind.OFFICE,
            label="本社",
            lat="35.690921",
            lng="139.700258",
        )
        areas.propose(contract, by=manager, params={"seconds": 1.0})
    assign_cases(contract, [c.case_ref for c in cases], surveyor, by=manager)
    photos = []
    for n, case in enumerate(cases):
        case.refresh_from_db()
        image = photo_with_metadata(seed=n)
        photos.append(image)
        record_visit(case, visit_data(), [image], by=people[Role.HANDLER])
        review_case(case, approve=True, by=manager)
    tablet = TabletDevice.objects.create(
        contract=contract,
        surveyor=surveyor,
        label="タブレット1",
        public_key="test-public-key",
        key_fingerprint="f" * 64,
        by=manager,
    )
    folder.mkdir(parents=True, exist_ok=True)
    (returned,) = closing.return_results(contract, folder, by=manager)
    transfer.receive_package(returned.path, kind="results", by=people[Role.WARD_STAFF])
    return Surveyed(cases, photos, tablet, returned.path)

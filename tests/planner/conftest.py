"""A contract with received cases in Tokyo, two surveyors, an office base and a campaign
of the next four weeks: the world of the planner's page and service tests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.fieldwork.services import assign_cases
from genchi.parties import services as parties
from genchi.parties.models import Designation
from genchi.planner.models import Campaign, SurveyorBase
from tests.conftest import make_person
from tests.fieldwork.world import receive
from tests.transfer.conftest import keys_exchanged, sealed_batch  # noqa: F401 - fixtures

TOKYO_ROWS = [
    ("160-0022", "東京都練馬区豊玉北五丁目1番1号", "", "山田 太郎"),
    ("170-0013", "東京都豊島区東池袋一丁目2番3号", "", "佐藤 花子"),
    ("154-0004", "東京都世田谷区太子堂4-1-1", "", "鈴木 一郎"),
    ("100-0001", "東京都千代田区千代田1-1", "", "田中 次郎"),
    ("164-0001", "東京都中野区中野四丁目1番1号", "", "高橋 三郎"),
    ("150-0043", "東京都渋谷区道玄坂一丁目1番", "", "伊藤 四郎"),
]


@pytest.fixture
def surveyor2(people, contract, contractor):
    person = make_person("c-surveyor2", contractor, Role.SURVEYOR)
    parties.designate(
        contract=contract,
        person=person,
        role=Designation.Role.SURVEYOR,
        starts_on=contract.starts_on,
        by=people[Role.WARD_ADMIN],
    )
    return person


@pytest.fixture
def cases(people, contract, keys_exchanged, surveyor2):  # noqa: F811 - fixture
    received = receive(people, contract, rows=TOKYO_ROWS)
    manager = people[Role.MANAGER]
    assign_cases(contract, [c.case_ref for c in received[:2]], people[Role.SURVEYOR], by=manager)
    assign_cases(contract, [c.case_ref for c in received[2:4]], surveyor2, by=manager)
    return received


@pytest.fixture
def office(contract, people):
    return SurveyorBase.objects.create(
        contract=contract,
        person=None,
        kind=SurveyorBase.Kind.OFFICE,
        label="本社",
        lat="35.690921",
        lng="139.700258",
    )


def start_day() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def campaign(contract, office):
    return Campaign.objects.create(
        contract=contract,
        starts_on=start_day(),
        ends_on=start_day() + dt.timedelta(days=27),
        weekdays=[0, 1, 2, 3, 4, 5],
        visits_per_day=6,
        visits_per_case=2,
        gap_days=7,
        seconds=2,
    )


@pytest.fixture
def planned(cases, campaign, people, contract):
    from genchi.planner import plans

    return plans.solve_now(contract, people[Role.MANAGER])

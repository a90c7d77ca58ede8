"""Received cases around Tokyo and far away (Osaka, Sapporo), one case whose address was
read only to the prefecture, bases for the office and the surveyor."""

from __future__ import annotations

from genchi.accounts.models import Role
from genchi.fieldwork.models import SurveyCase
from genchi.planner import areas_services as services
from tests.fieldwork.world import receive

ROWS = [
    ("", "東京都練馬区豊玉北五丁目1番1号", "", "山田 太郎"),
    ("", "東京都豊島区東池袋一丁目2番3号", "", "佐藤 花子"),
    ("", "東京都新宿区西新宿二丁目8番1号", "", "鈴木 一郎"),
    ("", "東京都中野区中野四丁目1番1号", "", "田中 次郎"),
    ("", "神奈川県横浜市西区高島二丁目1番1号", "", "伊藤 三郎"),
    ("", "大阪府大阪市北区梅田一丁目1番", "", "渡辺 四郎"),
    ("", "大阪府大阪市北区梅田二丁目2番", "", "山本 五郎"),
    ("", "北海道札幌市中央区北一条西二丁目", "", "中村 六郎"),
    ("", "東京都練馬区豊玉北五丁目2番1号", "", "小林 七郎"),  # read only to the prefecture
]

OFFICE = (35.689592, 139.700413)  # 新宿
HOME = (35.705765, 139.665697)  # 中野


def received_world(people, contract) -> list[SurveyCase]:
    cases = receive(people, contract, rows=ROWS)
    # As if the engine had read the last address only to the prefecture.
    SurveyCase.objects.filter(pk=cases[-1].pk).update(geocode_level=1, city="", pref_code=13)
    bad = SurveyCase.objects.get(pk=cases[-1].pk)
    bad.lat = bad.lng = bad.town = ""
    bad.save(update_fields=["lat", "lng", "town"])
    return list(SurveyCase.objects.filter(contract=contract).order_by("id"))


def with_bases(people, contract) -> None:
    manager = people[Role.MANAGER]
    services.set_base(
        contract, None, label="本社", kind="office", lat=OFFICE[0], lng=OFFICE[1], by=manager
    )
    services.set_base(
        contract,
        people[Role.SURVEYOR],
        label="中野駅",
        kind="home_station",
        lat=HOME[0],
        lng=HOME[1],
        by=manager,
    )

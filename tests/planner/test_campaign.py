"""Campaign settings (the form's Japanese errors at their fields), the calendar (dates to
the planner's day numbers, holidays skipped), the instance built from the contract's
cases and bases, and the road-network setting (off by default)."""

from __future__ import annotations

import datetime as dt

import jpholiday
import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.planner import plans
from genchi.planner.campaigns import calendar, travel_provider
from genchi.planner.models import Campaign, CampaignPlan, SurveyorBase
from genchi.planner.plan_forms import CampaignForm
from genchi.planning import OsrmTable, ValhallaMatrix

VALID = {
    "starts_on": "2026-12-01",
    "ends_on": "2027-02-26",
    "weekdays": ["0", "1", "2", "3", "4"],
    "skip_holidays": "on",
    "day_starts_at": "09:00",
    "day_ends_at": "19:00",
    "visits_per_day": "10",
    "visit_minutes": "20",
    "travel": "car",
    "visits_per_case": "2",
    "gap_days": "7",
    "other_time": "on",
    "evening_from": "17:00",
    "expected_revisits": "0.5",
    "seconds": "20",
}


def form(contract, **changes):
    data = {**VALID, **changes}
    for key in [k for k, v in data.items() if v is None]:
        del data[key]
    return CampaignForm(data, instance=Campaign(contract=contract), contract=contract)


def test_valid_settings_are_saved(contract, people):
    f = form(contract)
    assert f.is_valid(), f.errors
    campaign = plans.save_campaign(f.save(commit=False), people[Role.MANAGER])
    assert campaign.weekdays == [0, 1, 2, 3, 4]
    assert campaign.day_ends_at == dt.time(19, 0)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_on": "2026-11-30"}, "ends_on", "終了日は開始日以降にしてください。"),
        ({"starts_on": "2026-05-01"}, "starts_on", "契約の履行期間(2026-06-01〜)より前"),
        ({"ends_on": "2027-04-30"}, "ends_on", "契約の履行期間(〜2027-03-31)より後"),
        ({"weekdays": None}, "weekdays", "稼働する曜日を1つ以上選んでください。"),
        ({"day_ends_at": "08:00"}, "day_ends_at", "終業時刻は始業時刻より後にしてください。"),
        ({"visits_per_day": "0"}, "visits_per_day", "1 以上"),
        ({"visits_per_day": "101"}, "visits_per_day", "100 以下"),
        ({"visit_minutes": "abc"}, "visit_minutes", "整数"),
        ({"visits_per_case": "11"}, "visits_per_case", "10 以下"),
        ({"expected_revisits": "-1"}, "expected_revisits", "0 以上"),
        ({"day_ends_at": "17:00"}, "evening_from", "再訪問を別の時間帯にするには"),
        ({"travel": "plane"}, "travel", "正しく選択してください"),
    ],
)
def test_wrong_settings_are_refused_at_their_field(contract, changes, field, message):
    f = form(contract, **changes)
    assert not f.is_valid()
    assert field in f.errors, f.errors
    assert any(message in e for e in f.errors[field]), f.errors[field]


def test_the_settings_page_shows_errors_and_saves(client_for, contract):
    client = client_for(Role.MANAGER)
    url = f"/planner/{contract.code}/plan/settings/"
    page = client.post(url, {**VALID, "ends_on": "2026-11-01"}).content.decode()
    assert "終了日は開始日以降にしてください。" in page
    response = client.post(url, VALID)
    assert response.status_code == 302
    assert Campaign.objects.get(contract=contract).ends_on == dt.date(2027, 2, 26)
    assert client_for(Role.SURVEYOR).get(url).status_code == 403


def test_the_calendar_numbers_days_from_the_first_and_skips_holidays(contract):
    year = timezone.localdate().year + 1
    start, end = dt.date(year, 1, 1), dt.date(year, 1, 31)
    campaign = Campaign(
        contract=contract, starts_on=start, ends_on=end, weekdays=[0, 1, 2, 3, 4, 5]
    )
    cal = calendar(campaign)
    holidays = {d for d, _name in jpholiday.between(start, end)}
    assert dt.date(year, 1, 1) in holidays  # 元日
    expected = [
        (d - start).days + 1
        for d in (start + dt.timedelta(days=n) for n in range(31))
        if d.weekday() <= 5 and d not in holidays
    ]
    assert cal.days == expected
    assert 1 not in cal.days
    assert {d for d, _n in cal.holidays} == {d for d in holidays if d.weekday() <= 5}
    saturdays = [(d - start).days + 1 for d in (start + dt.timedelta(days=n) for n in range(31))]
    assert cal.weekend_days == [
        n for n in saturdays if cal.date_of(n).weekday() == 5 and n in cal.days
    ]
    assert cal.date_of(10) == dt.date(year, 1, 10) and cal.day_of(dt.date(year, 1, 10)) == 10
    # Not skipping holidays: New Year's Day is worked, and counts as a weekend day.
    campaign.skip_holidays = False
    cal = calendar(campaign)
    if dt.date(year, 1, 1).weekday() <= 5:
        assert 1 in cal.days and 1 in cal.weekend_days


def test_the_instance_keeps_surveyors_lists_cases_without_position_and_uses_bases(
    cases, campaign, people, contract, surveyor2
):
    unplaced = cases[5]
    unplaced.lat = ""
    unplaced.lng = ""
    unplaced.save()
    SurveyorBase.objects.create(
        contract=contract,
        person=surveyor2,
        kind=SurveyorBase.Kind.HOME_STATION,
        label="中野駅",
        lat="35.705700",
        lng="139.665800",
    )
    row = plans.prepare_solve(contract, people[Role.MANAGER])
    instance = row.instance
    refs = {s["id"] for s in instance["stops"]}
    assert unplaced.case_ref not in refs
    assert row.excluded == [
        {"ref": unplaced.case_ref, "reason": "住所の位置(緯度経度)が求められていません。"}
    ]
    by_ref = {s["id"]: s for s in instance["stops"]}
    assert by_ref[cases[0].case_ref]["surveyor"] == people[Role.SURVEYOR].pk
    assert by_ref[cases[2].case_ref]["surveyor"] == surveyor2.pk
    assert "surveyor" not in by_ref[cases[4].case_ref]  # not assigned: the planner proposes
    bases = {s["id"]: (s["lat"], s["lng"]) for s in instance["surveyors"]}
    assert bases[people[Role.SURVEYOR].pk] == (35.690921, 139.700258)  # the office
    assert bases[surveyor2.pk] == (35.7057, 139.6658)  # their own
    assert instance["days"][0] == 1 and row.first_day == campaign.starts_on
    assert instance["max_visits_per_day"] == 6 and instance["speed_kmh"] == 25.0
    assert all(s["visits"] == 2 and s["gap_days"] == 7 for s in instance["stops"])


def test_a_campaign_without_weekend_days_is_planned(cases, campaign, people, contract):
    campaign.weekdays = [0, 1, 2, 3, 4]
    campaign.save()
    row = plans.solve_now(contract, people[Role.MANAGER])
    assert "weekend_days" not in row.instance
    assert row.current and row.plan["routes"]


def test_no_base_is_a_clear_refusal(cases, contract, people):
    Campaign.objects.create(
        contract=contract,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=20),
    )
    with pytest.raises(plans.PlanningRefused) as err:
        plans.prepare_solve(contract, people[Role.MANAGER])
    assert "拠点も事務所の拠点も登録されていません" in err.value.messages[0]
    assert not CampaignPlan.objects.exists()


def test_the_road_server_is_off_unless_configured(campaign, settings):
    assert travel_provider(campaign) is None
    settings.GENCHI_ROUTING_ENGINE = "osrm"
    settings.GENCHI_ROUTING_URL = "http://127.0.0.1:5000"
    assert isinstance(travel_provider(campaign), OsrmTable)
    settings.GENCHI_ROUTING_ENGINE = "valhalla"
    assert isinstance(travel_provider(campaign), ValhallaMatrix)
    campaign.travel = "train_walk"  # road profiles know no trains: the straight line
    assert travel_provider(campaign) is None


def test_an_unreachable_road_server_fails_the_job_with_a_clear_message(
    cases, campaign, client_for, contract, settings
):
    from tests.planner.test_road_matrix import free_port

    settings.GENCHI_ROUTING_ENGINE = "osrm"
    settings.GENCHI_ROUTING_URL = f"http://127.0.0.1:{free_port()}"
    settings.GENCHI_ROUTING_TIMEOUT_SECONDS = 2
    client = client_for(Role.MANAGER)
    client.post(f"/planner/{contract.code}/plan/solve/")
    row = CampaignPlan.objects.get(contract=contract)
    assert row.job_state == "failed" and not row.current
    assert "接続できません" in row.job_message
    page = client.get(f"/planner/{contract.code}/plan/").content.decode()
    assert "接続できません" in page

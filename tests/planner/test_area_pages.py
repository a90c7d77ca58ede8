"""The office's area pages (C-S2.4): bases, the proposal from the received cases, flagged
cases and their fix, moves of cases and towns, confirmation through the gate, access per
role and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork.models import SurveyCase
from genchi.parties import services as parties
from genchi.parties.models import Designation, TrainingRecord
from genchi.planner import areas_services as services
from genchi.planner.models import AreaProposal, Campaign, SurveyorBase
from genchi.planning import propose_areas as real_propose_areas
from tests.conftest import make_person
from tests.fieldwork.world import receive
from tests.planner.areas_world import HOME, OFFICE, received_world, with_bases


@pytest.fixture
def world(people, contract, keys_exchanged):
    cases = received_world(people, contract)
    with_bases(people, contract)
    return cases


@pytest.fixture
def second_surveyor(people, contract, contractor):
    person = make_person("c-surveyor2", contractor, Role.SURVEYOR)
    parties.designate(
        contract=contract,
        person=person,
        role=Designation.Role.SURVEYOR,
        starts_on=contract.starts_on,
        by=people[Role.WARD_ADMIN],
    )
    return person


def _map(body: str, map_id: str) -> dict:
    match = re.search(rf'<script id="{map_id}-data" type="application/json">(.*?)</script>', body)
    assert match, f"no map {map_id}"
    return json.loads(match.group(1))


# --- bases --------------------------------------------------------------------------------


def test_bases_by_address_and_by_coordinates_logged(people, contract, client_for):
    client = client_for(Role.MANAGER)
    response = client.post(
        f"/planner/{contract.code}/bases/",
        {"person": "", "kind": "office", "label": "", "address": "東京都新宿区西新宿二丁目8番1号"},
    )
    assert response.status_code == 302
    office = SurveyorBase.objects.get(contract=contract, person=None)
    assert abs(float(office.lat) - 35.69) < 0.05 and abs(float(office.lng) - 139.69) < 0.05
    assert office.label.startswith("東京都新宿区西新宿")
    surveyor = people[Role.SURVEYOR]
    response = client.post(
        f"/planner/{contract.code}/bases/",
        {
            "person": surveyor.pk,
            "kind": "home_station",
            "label": "中野駅",
            "lat": "35.705765",
            "lng": "139.665697",
        },
    )
    assert response.status_code == 302
    assert SurveyorBase.objects.get(contract=contract, person=surveyor).label == "中野駅"
    entries = AuditEntry.objects.filter(action="planner.base_set").order_by("seq")
    assert [e.detail["person"] for e in entries] == [None, surveyor.username]
    # Changing a base logs what it was.
    client.post(
        f"/planner/{contract.code}/bases/",
        {
            "person": surveyor.pk,
            "kind": "other",
            "label": "自宅近く",
            "lat": "35.7",
            "lng": "139.6",
        },
    )
    last = AuditEntry.objects.filter(action="planner.base_set").latest("seq")
    assert (
        last.detail["before"]["label"] == "中野駅" and last.detail["after"]["label"] == "自宅近く"
    )
    page = client.get(f"/planner/{contract.code}/bases/").content.decode()
    assert len(_map(page, "bases-map")["markers"]) == 2


def test_base_errors_are_shown_at_the_field(people, contract, client_for):
    client = client_for(Role.MANAGER)
    url = f"/planner/{contract.code}/bases/"
    page = client.post(url, {"person": "", "kind": "office", "address": "東京都"}).content.decode()
    assert "市区町村まで判定できませんでした" in page
    page = client.post(
        url, {"person": "", "kind": "office", "label": "x", "lat": "135.0", "lng": "35.0"}
    ).content.decode()
    assert "北緯20〜46度" in page and "東経122〜154度" in page
    page = client.post(url, {"person": "", "kind": "office"}).content.decode()
    assert "住所か、緯度と経度を入力してください" in page
    # Only a designated surveyor can have a base; the handler is offered nothing else.
    page = client.post(
        url,
        {"person": str(people[Role.HANDLER].pk), "kind": "office", "lat": "35.7", "lng": "139.7"},
    ).content.decode()
    assert "正しく選択してください" in page or "Select a valid choice" in page
    assert not SurveyorBase.objects.filter(contract=contract).exists()


# --- the proposal -------------------------------------------------------------------------


def test_proposal_from_the_received_cases_with_trips_and_flagged_excluded(
    world, people, contract, second_surveyor
):
    proposal = services.propose(contract, by=people[Role.MANAGER])
    rows = {r.case_ref: r for r in proposal.rows.all()}
    flagged = world[-1]
    assert flagged.case_ref not in rows  # read only to the prefecture: not in the proposal
    assert len(rows) == len(world) - 1
    assert all(
        r.surveyor_id in (people[Role.SURVEYOR].pk, second_surveyor.pk) for r in rows.values()
    )
    # Osaka and Sapporo are far from both bases: trips (出張), Osaka's two cases together.
    osaka = [rows[c.case_ref] for c in world if c.city == "大阪市北区"]
    sapporo = [rows[c.case_ref] for c in world if c.city == "札幌市中央区"]
    assert osaka[0].trip and osaka[0].trip == osaka[1].trip
    assert sapporo[0].trip and sapporo[0].trip != osaka[0].trip
    tokyo = [rows[c.case_ref] for c in world if c.pref == "東京都" and c.case_ref in rows]
    assert all(not r.trip for r in tokyo)
    assert {t["id"] for t in proposal.summary["trips"]} == {osaka[0].trip, sapporo[0].trip}
    entry = AuditEntry.objects.filter(action="planner.areas_proposed").latest("seq")
    assert entry.detail["cases"] == len(world) - 1 and entry.detail["flagged"] == 1
    # Reading the cases for it is logged as a view of personal data.
    read = AuditEntry.objects.filter(
        action="survey_case.list_viewed", detail__view="area_proposal_run"
    ).latest("seq")
    assert flagged.case_ref in read.detail["refs"]


def test_the_page_shows_map_table_towns_and_flagged(world, people, contract, client_for):
    client = client_for(Role.MANAGER)
    url = f"/planner/{contract.code}/areas/"
    page = client.get(url).content.decode()
    assert "位置を直す必要のある案件 1 件" in page
    assert world[-1].case_ref in page and "都道府県までしか判定できませんでした" in page
    response = client.post(
        f"/planner/{contract.code}/areas/propose/",
        {"expected_revisits": "0.5", "visit_minutes": "20", "trip_after_minutes": "150"},
        follow=True,
    )
    page = response.content.decode()
    assert "8 件の案件で担当地域の案を作りました" in page
    data = _map(page, "areas-map")
    surveyor = str(people[Role.SURVEYOR].pk)
    case_markers = [m for m in data["markers"] if m["href"]]
    assert len(case_markers) == 8 and all(m["group"] == surveyor for m in case_markers)
    assert any("拠点" in m["label"] for m in data["markers"])  # the base
    assert data["hulls"] and data["routes"]  # the area and the trips' legs
    assert "東京都練馬区豊玉北五丁目" in page  # the towns table
    assert "訪問の見込み(再訪問を含む)" in page
    assert "12.0" in page  # 8 cases × (1 + 0.5) expected visits
    entry = AuditEntry.objects.filter(
        action="survey_case.list_viewed", detail__view="area_proposal"
    ).latest("seq")
    assert entry.detail["count"] == 9


def test_moves_of_a_case_and_of_a_town_are_logged(
    world, people, contract, second_surveyor, client_for
):
    manager = people[Role.MANAGER]
    proposal = services.propose(contract, by=manager)
    surveyor = people[Role.SURVEYOR]
    client = client_for(Role.MANAGER)
    nerima = world[0]
    row = proposal.rows.get(case_ref=nerima.case_ref)
    target = second_surveyor if row.surveyor_id == surveyor.pk else surveyor
    response = client.post(
        f"/planner/{contract.code}/areas/move/",
        {"proposal": proposal.pk, "case": [nerima.case_ref], "surveyor": target.pk},
        follow=True,
    )
    assert "1 件を移しました" in response.content.decode()
    row.refresh_from_db()
    assert row.surveyor_id == target.pk and row.moved
    entry = AuditEntry.objects.filter(action="planner.areas_moved").latest("seq")
    assert entry.detail["after"] == {nerima.case_ref: target.username}
    assert entry.detail["before"][nerima.case_ref] != target.username
    # The whole town of 豊玉北 (the flagged case is not in the proposal) to the other one.
    other = surveyor if target == second_surveyor else second_surveyor
    response = client.post(
        f"/planner/{contract.code}/areas/move-town/",
        {
            "proposal": proposal.pk,
            "town_key": f"東京都|練馬区|{nerima.town}",
            "surveyor": other.pk,
        },
        follow=True,
    )
    assert "の 1 件を移しました" in response.content.decode()
    entry = AuditEntry.objects.filter(action="planner.areas_moved").latest("seq")
    assert entry.detail["town"].startswith("東京都練馬区豊玉北")
    assert entry.detail["before"] == {nerima.case_ref: target.username}
    # A person who is not an eligible surveyor is refused.
    with pytest.raises(ValidationError):
        services.move_cases(
            contract, proposal.pk, [nerima.case_ref], people[Role.HANDLER].pk, by=manager
        )


def test_a_whole_trip_moves_to_another_surveyor_logged(
    world, people, contract, second_surveyor, client_for
):
    manager = people[Role.MANAGER]
    proposal = services.propose(contract, by=manager)
    osaka = [proposal.rows.get(case_ref=c.case_ref) for c in world if c.city == "大阪市北区"]
    trip = osaka[0].trip
    assert trip and {r.trip for r in osaka} == {trip}
    before = osaka[0].surveyor
    target = second_surveyor if before == people[Role.SURVEYOR] else people[Role.SURVEYOR]
    client = client_for(Role.MANAGER)
    page = client.get(f"/planner/{contract.code}/areas/").content.decode()
    assert f'name="trip" value="{trip}"' in page
    response = client.post(
        f"/planner/{contract.code}/areas/move-trip/",
        {"proposal": proposal.pk, "trip": trip, "surveyor": target.pk},
        follow=True,
    )
    assert f"出張 {trip} の 2 件を移しました" in response.content.decode()
    rows = list(proposal.rows.filter(trip=trip))
    assert len(rows) == 2 and all(r.surveyor_id == target.pk and r.moved for r in rows)
    # Only the trip's cases moved.
    others = proposal.rows.exclude(trip=trip)
    assert not [r for r in others if r.moved]
    entry = AuditEntry.objects.filter(action="planner.areas_moved").latest("seq")
    refs = sorted(r.case_ref for r in osaka)
    assert entry.detail["trip"] == trip and entry.detail["cases"] == refs
    assert entry.detail["before"] == dict.fromkeys(refs, before.username)
    assert entry.detail["after"] == dict.fromkeys(refs, target.username)
    # No trip chosen, or one that is not in the draft: said, nothing moved.
    response = client.post(
        f"/planner/{contract.code}/areas/move-trip/",
        {"proposal": proposal.pk, "trip": "", "surveyor": target.pk},
        follow=True,
    )
    assert "移す出張を選んでください" in response.content.decode()
    with pytest.raises(ValidationError):
        services.move_trip(contract, proposal.pk, "T999", target.pk, by=manager)


def _winter_campaign(contract):
    # 2027-01-01 元日 and 2027-01-11 成人の日 are holidays; Monday to Friday.
    return Campaign.objects.create(
        contract=contract,
        starts_on=dt.date(2027, 1, 1),
        ends_on=dt.date(2027, 1, 15),
        weekdays=[0, 1, 2, 3, 4],
        skip_holidays=True,
    )


def test_the_proposal_weighs_each_surveyors_real_working_days(
    world, people, contract, second_surveyor, monkeypatch
):
    _winter_campaign(contract)
    monkeypatch.setattr(
        services, "timezone", SimpleNamespace(localdate=lambda: dt.date(2026, 12, 1))
    )
    seen = {}

    def propose_areas(instance):
        seen["instance"] = instance
        return real_propose_areas(instance)

    monkeypatch.setattr(services, "propose_areas", propose_areas)
    services.propose(contract, by=people[Role.MANAGER])
    # The weekdays of the period, less the two national holidays: not a nominal month.
    weekdays = (4, 5, 6, 7, 8, 12, 13, 14, 15)
    assert {sv.days for sv in seen["instance"].surveyors} == {weekdays}
    assert seen["instance"].days == weekdays


def test_working_days_start_at_the_designation_and_today(people, contract, second_surveyor):
    _winter_campaign(contract)
    Designation.objects.filter(person=second_surveyor, contract=contract).update(
        starts_on=dt.date(2027, 1, 12)
    )
    first, second = people[Role.SURVEYOR], second_surveyor
    days = services.working_days(contract, [first, second], today=dt.date(2026, 12, 1))
    assert days == {first.pk: [4, 5, 6, 7, 8, 12, 13, 14, 15], second.pk: [12, 13, 14, 15]}
    days = services.working_days(contract, [first, second], today=dt.date(2027, 1, 7))
    assert days == {first.pk: [7, 8, 12, 13, 14, 15], second.pk: [12, 13, 14, 15]}
    # A period that is over is weighed in full.
    days = services.working_days(contract, [first, second], today=dt.date(2027, 2, 1))
    assert days[first.pk] == [4, 5, 6, 7, 8, 12, 13, 14, 15]


def test_confirm_assigns_through_the_gate_and_refusal_is_shown(
    world, people, contract, second_surveyor, client_for
):
    manager = people[Role.MANAGER]
    proposal = services.propose(contract, by=manager)
    # The second surveyor's training lapses after the proposal was made.
    TrainingRecord.objects.filter(person=second_surveyor).update(
        trained_on=timezone.localdate() - dt.timedelta(days=400)
    )
    proposal.rows.update(surveyor=second_surveyor)
    client = client_for(Role.MANAGER)
    response = client.post(
        f"/planner/{contract.code}/areas/confirm/", {"proposal": proposal.pk}, follow=True
    )
    page = response.content.decode()
    assert "確定できませんでした" in page and "1年を超えています" in page
    assert not SurveyCase.objects.filter(surveyor__isnull=False).exists()
    assert AreaProposal.objects.get(pk=proposal.pk).status == AreaProposal.Status.DRAFT
    # Back to the qualified surveyor: confirmed, assigned, logged.
    proposal.rows.update(surveyor=people[Role.SURVEYOR])
    response = client.post(
        f"/planner/{contract.code}/areas/confirm/", {"proposal": proposal.pk}, follow=True
    )
    assert "担当地域を確定し、割り当てました" in response.content.decode()
    assigned = SurveyCase.objects.filter(surveyor=people[Role.SURVEYOR])
    assert assigned.count() == len(world) - 1
    assert AuditEntry.objects.filter(action="survey_case.assigned").exists()
    entry = AuditEntry.objects.filter(action="planner.areas_confirmed").latest("seq")
    assert entry.detail["assigned"] == {people[Role.SURVEYOR].username: len(world) - 1}
    # A confirmed proposal is not changed any more.
    with pytest.raises(ValidationError):
        services.move_cases(contract, proposal.pk, [world[0].case_ref], None, by=manager)
    # The surveyor sees their cases on their list, not the flagged one nobody has.
    page = client_for(Role.SURVEYOR).get("/fieldwork/cases/").content.decode()
    assert world[0].case_ref in page and world[-1].case_ref not in page


def test_a_new_run_discards_the_draft_and_its_moves(world, people, contract):
    manager = people[Role.MANAGER]
    first = services.propose(contract, by=manager)
    services.move_cases(contract, first.pk, [world[0].case_ref], None, by=manager)
    second = services.propose(contract, by=manager)
    first.refresh_from_db()
    assert first.status == AreaProposal.Status.DISCARDED
    assert not second.rows.get(case_ref=world[0].case_ref).moved
    assert services.current_draft(contract) == second
    entry = AuditEntry.objects.filter(action="planner.areas_proposed").latest("seq")
    assert entry.detail["discarded"] == [first.pk]


def test_no_eligible_surveyor_or_no_base_is_said(people, contract, keys_exchanged):
    received_world(people, contract)
    with pytest.raises(ValidationError) as said:
        services.propose(contract, by=people[Role.MANAGER])
    assert "事務所の拠点を登録してください" in " ".join(said.value.messages)
    with_bases(people, contract)
    TrainingRecord.objects.all().delete()
    with pytest.raises(ValidationError) as said:
        services.propose(contract, by=people[Role.MANAGER])
    assert "割り当てられる調査員がいません" in " ".join(said.value.messages)


# --- flagged cases and their fix ----------------------------------------------------------


def test_flagged_case_fixed_by_address_or_coordinates(world, people, contract, client_for):
    flagged = world[-1]
    client = client_for(Role.HANDLER)
    url = f"/fieldwork/cases/{contract.code}/{flagged.case_ref}/position/"
    back = f"/planner/{contract.code}/areas/"
    page = client.get(url + f"?next={back}").content.decode()
    assert flagged.address in page
    detail = client.get(f"/fieldwork/cases/{contract.code}/{flagged.case_ref}/").content.decode()
    assert url in detail  # the case page links to the fix for the office
    page = client.post(url, {"address": "東京都", "next": back}).content.decode()
    assert "市区町村まで判定できませんでした" in page
    page = client.post(url, {"lat": "35.7", "next": back}).content.decode()
    assert "経度を入力してください" in page
    response = client.post(url, {"address": "東京都練馬区豊玉北五丁目2番1号", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    case = SurveyCase.objects.get(pk=flagged.pk)
    assert case.geocode_level == 3 and case.city == "練馬区" and case.lat
    assert case.address == flagged.address  # the received address stays as it came
    entry = AuditEntry.objects.filter(action="survey_case.position_corrected").latest("seq")
    assert entry.detail["before"]["level"] == 1 and entry.detail["after"]["level"] == 3
    # By coordinates: the office's own level.
    response = client.post(url, {"lat": "35.74", "lng": "139.65", "next": back})
    case = SurveyCase.objects.get(pk=flagged.pk)
    assert case.geocode_level == 4 and case.lat == "35.740000"
    page = client.get(back).content.decode()
    assert "位置を直す必要のある案件" not in page
    assert "案を作った後に位置の分かった案件" not in page  # no proposal yet


# --- access ------------------------------------------------------------------------------


def test_only_the_contracts_office_people(world, people, contract, contractor, client_for):
    urls = [
        f"/planner/{contract.code}/areas/",
        f"/planner/{contract.code}/bases/",
        "/planner/areas/",
    ]
    for role in (Role.MANAGER, Role.HANDLER):
        for url in urls:
            assert client_for(role).get(url).status_code == 200, (role, url)
    for role in (Role.SURVEYOR, Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        for url in urls:
            assert client_for(role).get(url).status_code == 403, (role, url)
        assert client_for(role).post(f"/planner/{contract.code}/areas/propose/").status_code == 403
    # A manager of the same company not designated on the contract: refused, nothing read.
    from tests.conftest import signed_in_client

    colleague = signed_in_client(make_person("c-manager2", contractor, Role.MANAGER))
    before = AuditEntry.objects.filter(action="survey_case.list_viewed").count()
    assert colleague.get(f"/planner/{contract.code}/areas/").status_code == 403
    assert colleague.post(f"/planner/{contract.code}/areas/propose/").status_code == 403
    assert contract.code not in colleague.get("/planner/areas/").content.decode()
    assert AuditEntry.objects.filter(action="survey_case.list_viewed").count() == before
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied from the service
        services.propose(contract, by=people[Role.SURVEYOR])


def test_a_fixed_number_of_queries_with_more_cases(people, contract, keys_exchanged, client_for):
    with_bases(people, contract)
    client = client_for(Role.MANAGER)
    url = f"/planner/{contract.code}/areas/"

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    receive(
        people, contract, rows=[("", "東京都練馬区豊玉北五丁目1番1号", "", "試験 一")], number=1
    )
    services.propose(contract, by=people[Role.MANAGER])
    few = count()
    rows = [("", f"東京都練馬区豊玉北五丁目{n}番1号", "", f"試験 {n}") for n in range(2, 32)]
    rows += [("", f"大阪府大阪市北区梅田一丁目{n}番", "", f"大阪 {n}") for n in range(1, 6)]
    receive(people, contract, rows=rows, number=2)
    services.propose(contract, by=people[Role.MANAGER])
    assert count() == few


def test_base_coordinates_are_the_planners_start(world, people, contract):
    proposal = services.propose(contract, by=people[Role.MANAGER])
    assert proposal.params["trip_after_minutes"] == 150
    bases = {b.person_id: b for b in SurveyorBase.objects.filter(contract=contract)}
    assert (float(bases[None].lat), float(bases[None].lng)) == OFFICE
    assert (
        float(bases[people[Role.SURVEYOR].pk].lat),
        float(bases[people[Role.SURVEYOR].pk].lng),
    ) == HOME


def test_a_case_out_in_the_field_since_the_proposal_is_left_as_it_is(world, people, contract):
    manager = people[Role.MANAGER]
    proposal = services.propose(contract, by=manager)
    SurveyCase.objects.filter(pk=world[0].pk).update(status=SurveyCase.Status.VISITED)
    counts = services.confirm(contract, proposal.pk, by=manager)
    assert counts == {people[Role.SURVEYOR].username: len(world) - 2}
    assert SurveyCase.objects.get(pk=world[0].pk).surveyor is None
    entry = AuditEntry.objects.filter(action="planner.areas_confirmed").latest("seq")
    assert entry.detail["skipped"] == [world[0].case_ref]

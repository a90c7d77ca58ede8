"""The contractor's received cases: address reading at import, scoping per role and
assignment (C-S2.4), filters, search, logging and a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork import selectors
from genchi.fieldwork.models import SurveyCase
from genchi.fieldwork.services import assign_cases
from genchi.parties import services as parties
from genchi.parties.models import Designation, TrainingRecord
from tests.conftest import make_person, qualify, signed_in_client
from tests.fieldwork.world import receive


@pytest.fixture
def received(people, contract, keys_exchanged) -> list[SurveyCase]:
    return receive(people, contract)


def test_import_reads_the_address_and_keeps_it_encrypted(received):
    nerima = received[0]
    assert (nerima.pref, nerima.city, nerima.pref_code) == ("東京都", "練馬区", 13)
    assert nerima.town.startswith("豊玉北")
    assert nerima.geocode_level == 3
    assert nerima.lat and nerima.lng
    assert nerima.status == SurveyCase.Status.RECEIVED
    assert nerima.visit_count == 0 and nerima.surveyor is None
    with connection.cursor() as cur:
        cur.execute(
            "SELECT town, lat, name, name_index FROM fieldwork_surveycase WHERE id = %s",
            [nerima.pk],
        )
        town, lat, name, name_index = cur.fetchone()
    assert "豊玉" not in town and nerima.lat not in lat and "山田" not in name
    assert len(name_index) == 64 and "山田" not in name_index


def test_scoping_for_every_role(received, people, contract, contractor):
    surveyor = people[Role.SURVEYOR]
    assert selectors.survey_cases_for(people[Role.MANAGER]).count() == 4
    assert selectors.survey_cases_for(people[Role.HANDLER]).count() == 4
    assert selectors.survey_cases_for(surveyor).count() == 0  # nothing assigned yet
    assign_cases(contract, [received[0].case_ref], surveyor, by=people[Role.MANAGER])
    assert [c.case_ref for c in selectors.survey_cases_for(surveyor)] == [received[0].case_ref]
    for role in (Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        assert selectors.survey_cases_for(people[role]).count() == 0
    # Another contractor's manager, and an undesignated colleague, see nothing.
    other = parties.create_organisation(code="other", name="他社", kind="contractor")
    assert selectors.survey_cases_for(make_person("o-manager", other, Role.MANAGER)).count() == 0
    assert selectors.survey_cases_for(make_person("c-h2", contractor, Role.HANDLER)).count() == 0
    # A surveyor whose designation ended sees nothing, even of cases still assigned.
    parties.end_designation(Designation.objects.get(person=surveyor), by=people[Role.WARD_ADMIN])
    assert selectors.survey_cases_for(surveyor).count() == 0


def test_pages_per_role(received, people, contract, client_for):
    surveyor = people[Role.SURVEYOR]
    mine, other = received[0], received[1]
    assign_cases(contract, [mine.case_ref], surveyor, by=people[Role.MANAGER])
    url = f"/fieldwork/cases/{contract.code}/{{}}/"
    client = client_for(Role.SURVEYOR)
    page = client.get("/fieldwork/cases/").content.decode()
    assert mine.case_ref in page and other.case_ref not in page
    assert "山田 太郎" in page and "佐藤 花子" not in page
    assert client.get(url.format(mine.case_ref)).status_code == 200
    assert client.get(url.format(other.case_ref)).status_code == 404
    for role in (Role.MANAGER, Role.HANDLER):
        page = client_for(role).get("/fieldwork/cases/").content.decode()
        assert all(c.case_ref in page for c in received)
        assert client_for(role).get(url.format(other.case_ref)).status_code == 200
    for role in (Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        assert client_for(role).get("/fieldwork/cases/").status_code == 403
        assert client_for(role).get(url.format(mine.case_ref)).status_code == 403


def test_every_view_is_logged(received, people, contract, client_for):
    client = client_for(Role.HANDLER)
    client.get("/fieldwork/cases/")
    entry = AuditEntry.objects.filter(action="survey_case.list_viewed").latest("seq")
    assert sorted(entry.detail["refs"]) == sorted(c.case_ref for c in received)
    assert entry.actor == people[Role.HANDLER].username
    client.get(f"/fieldwork/cases/{contract.code}/{received[2].case_ref}/")
    entry = AuditEntry.objects.filter(action="survey_case.viewed").latest("seq")
    assert entry.detail["ref"] == received[2].case_ref


def test_filters_list_each_option_once_in_jis_order(received, people, client_for):
    page = client_for(Role.MANAGER).get("/fieldwork/cases/").content.decode()
    select = page[page.index('name="pref"') : page.index("</select>", page.index('name="pref"'))]
    assert select.index("北海道") < select.index("東京都") < select.index("大阪府")
    assert select.count(">東京都<") == 1  # two Tokyo cases, one option


def test_filters_and_search(received, people, contract):
    manager = people[Role.MANAGER]
    assign_cases(contract, [received[1].case_ref], people[Role.SURVEYOR], by=manager)
    base = selectors.survey_cases_for(manager)
    contracts = [contract]

    def refs(**kw):
        return {c.case_ref for c in selectors.filter_cases(base, contracts=contracts, **kw)}

    assert refs(pref="東京都") == {received[0].case_ref, received[1].case_ref}
    assert refs(city="練馬区") == {received[0].case_ref}
    assert refs(status="assigned") == {received[1].case_ref}
    assert refs(surveyor=str(people[Role.SURVEYOR].pk)) == {received[1].case_ref}
    assert refs(surveyor="none") == {
        received[0].case_ref,
        received[2].case_ref,
        received[3].case_ref,
    }
    assert refs(q="佐藤花子") == {received[1].case_ref}  # spaces do not matter
    assert refs(q="佐藤 花子") == {received[1].case_ref}
    assert refs(q="佐藤") == set()  # a name matches only whole
    assert refs(q=received[3].case_ref[:-1]) >= {received[3].case_ref}


def test_a_fixed_number_of_queries_per_page(people, contract, keys_exchanged, client_for):
    client = client_for(Role.MANAGER)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/fieldwork/cases/").status_code == 200
        return len(queries)

    receive(people, contract, number=1)
    few = count()
    many_rows = [
        (f"160-00{n:02d}", f"東京都練馬区豊玉北五丁目{n}番1号", "", f"試験 {n}")
        for n in range(1, 31)
    ]
    cases = receive(people, contract, rows=many_rows, number=2)
    assign_cases(
        contract, [c.case_ref for c in cases[4:20]], people[Role.SURVEYOR], by=people[Role.MANAGER]
    )
    assert count() == few


def test_assignment_is_gated(received, people, contract, contractor):
    manager = people[Role.MANAGER]
    lapsed = make_person("c-lapsed", contractor, Role.SURVEYOR, qualified=False)
    qualify(lapsed, trained_on=timezone.localdate() - dt.timedelta(days=300))
    parties.designate(
        contract=contract,
        person=lapsed,
        role=Designation.Role.SURVEYOR,
        starts_on=contract.starts_on,
        by=people[Role.WARD_ADMIN],
    )
    TrainingRecord.objects.filter(person=lapsed).update(
        trained_on=timezone.localdate() - dt.timedelta(days=400)
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        assign_cases(contract, [received[0].case_ref], lapsed, by=manager)
    assert any("1年を超えて" in m for m in refused.value.messages)
    # A handler is not a surveyor of the contract.
    with pytest.raises(ValidationError):
        assign_cases(contract, [received[0].case_ref], people[Role.HANDLER], by=manager)
    assert SurveyCase.objects.get(pk=received[0].pk).surveyor is None


def test_assign_through_the_page_and_refusal_shown(received, people, contract, client_for):
    client = client_for(Role.MANAGER)
    response = client.post(
        "/fieldwork/cases/assign/",
        {"case": [received[0].pk, received[1].pk], "surveyor": people[Role.SURVEYOR].pk},
        follow=True,
    )
    assert "2 件の割当を変更しました" in response.content.decode()
    assert SurveyCase.objects.filter(surveyor=people[Role.SURVEYOR]).count() == 2
    assert AuditEntry.objects.filter(action="survey_case.assigned").exists()
    # The surveyor cannot assign (policy), and sees their two cases only.
    assert (
        signed_in_client(people[Role.SURVEYOR]).post("/fieldwork/cases/assign/").status_code == 403
    )


def test_a_case_received_before_addresses_were_read_is_read_on_display(
    received, contract, client_for
):
    SurveyCase.objects.filter(pk=received[0].pk).update(
        pref="", city="", pref_code=0, geocode_level=0
    )
    page = client_for(Role.HANDLER).get(f"/fieldwork/cases/{contract.code}/{received[0].case_ref}/")
    assert "東京都練馬区豊玉北" in page.content.decode()
    assert SurveyCase.objects.get(pk=received[0].pk).geocode_level == 0  # nothing stored


def _map_data(body: str) -> dict:
    import json
    import re

    found = re.search(
        r'<script id="case-list-map-data" type="application/json">(.*?)</script>', body, re.S
    )
    return json.loads(found.group(1)) if found else {"markers": [], "groups": {}, "hulls": []}


def test_the_map_shows_each_surveyors_cases_in_their_colour(received, people, contract, client_for):
    surveyor = people[Role.SURVEYOR]
    assign_cases(contract, [c.case_ref for c in received[:3]], surveyor, by=people[Role.MANAGER])
    manager = _map_data(client_for(Role.MANAGER).get("/fieldwork/cases/").content.decode())
    placed = {m["label"]: m for m in manager["markers"]}
    assert set(placed) == {c.case_ref for c in received}  # every case here reads to a town
    assigned_colour = manager["groups"][str(surveyor.pk)]["color"]
    assert manager["groups"]["none"]["color"] == "#7A7A7A"  # unassigned: neutral grey
    assert {placed[c.case_ref]["color"] for c in received[:3]} == {assigned_colour}
    assert placed[received[3].case_ref]["color"] == "#7A7A7A"
    assert placed[received[0].case_ref]["href"].startswith("/fieldwork/cases/")
    assert [h["group"] for h in manager["hulls"]] == [str(surveyor.pk)]
    # The surveyor's map holds their own cases only (C-S2.4), and drawing it is logged.
    own = _map_data(client_for(Role.SURVEYOR).get("/fieldwork/cases/").content.decode())
    assert {m["label"] for m in own["markers"]} == {c.case_ref for c in received[:3]}
    logged = AuditEntry.objects.filter(action="survey_case.list_viewed", detail__view="case_map")
    assert logged.count() == 2

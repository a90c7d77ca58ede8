"""The plan stored and shown: overview (table, map), a surveyor's day (stops in order,
route from the base and back), scoping per role (C-S2.4), logging, re-plan and locks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.planner import plans
from genchi.planner.models import CampaignPlan
from genchi.planning import check_plan, parse_instance
from genchi.planning.plan import Plan


def routes_of(row, person_id):
    return [r for r in row.plan["routes"] if r["surveyor"] == person_id]


def test_the_plan_is_stored_current_and_encrypted(planned, cases, people, surveyor2):
    from django.db import connection

    assert planned.current and planned.version == 1
    assert planned.job_state == ""  # solved inline (solve_now)
    instance = parse_instance(planned.instance)
    assert check_plan(instance, Plan.from_dict(planned.plan)) == []
    # Confirmed surveyors are kept; unassigned cases get a proposed surveyor.
    for case in cases[:2]:
        stop = instance.stop(case.case_ref)
        assert stop.surveyor == people[Role.SURVEYOR].pk
    visited = {s for r in planned.plan["routes"] for s in r["stops"]}
    assert {c.case_ref for c in cases} <= visited
    with connection.cursor() as cur:
        cur.execute(
            "SELECT instance_text, plan_text FROM planner_campaignplan WHERE id = %s",
            [planned.pk],
        )
        instance_text, plan_text = cur.fetchone()
    assert instance_text.startswith("g3:") and plan_text.startswith("g3:")
    assert cases[0].case_ref not in plan_text
    assert AuditEntry.objects.filter(action="planner.plan.solved").exists()


def test_a_new_solve_keeps_the_history(planned, people, contract):
    second = plans.solve_now(contract, people[Role.MANAGER])
    planned.refresh_from_db()
    assert second.version == 2 and second.current and not planned.current
    assert CampaignPlan.objects.filter(contract=contract).count() == 2


def test_the_solve_runs_as_a_job_with_a_progress_page(cases, campaign, client_for, contract):
    client = client_for(Role.MANAGER)
    response = client.post(f"/planner/{contract.code}/plan/solve/")
    assert response.status_code == 302
    assert response["Location"] == f"/planner/{contract.code}/plan/progress/"
    row = CampaignPlan.objects.get(contract=contract)
    assert row.job_state == "succeeded" and row.current  # the immediate backend ran it
    page = client.get(f"/planner/{contract.code}/plan/progress/").content.decode()
    assert "完了" in page
    # The polling part, once the job is over, sends the browser to the plan.
    polled = client.get(f"/planner/{contract.code}/plan/progress/", headers={"HX-Request": "true"})
    assert polled.status_code == 204
    assert polled["HX-Redirect"] == f"/planner/{contract.code}/plan/"
    # A second solve while one is queued is refused in words.
    CampaignPlan.objects.filter(pk=row.pk).update(job_state="queued")
    response = client.post(f"/planner/{contract.code}/plan/solve/", follow=True)
    assert "計画を作成中です。終わるまでお待ちください。" in response.content.decode()


def test_manager_sees_the_table_the_map_and_every_surveyor(
    planned, client_for, contract, people, surveyor2, cases
):
    page = client_for(Role.MANAGER).get(f"/planner/{contract.code}/plan/").content.decode()
    assert "c-surveyor2" in page and "c-surveyor" in page
    assert 'id="plan-map"' in page
    assert "日ごとの訪問" in page
    assert AuditEntry.objects.filter(
        action="survey_case.list_viewed", detail__view="plan_overview_map"
    ).exists()
    # Distances are grouped by thousands, as people read them (1,234.5).
    km = sum(r["km"] for r in planned.plan["routes"]) + sum(t["km"] for t in planned.plan["trips"])
    assert f'<td class="num">{km:,.1f}</td>' in page


def test_the_unassigned_and_excluded_cases_shown_are_logged(
    cases, campaign, client_for, contract, people
):
    unplaced = cases[5]
    unplaced.lat = ""
    unplaced.save()
    plans.solve_now(contract, people[Role.MANAGER])
    page = client_for(Role.MANAGER).get(f"/planner/{contract.code}/plan/").content.decode()
    assert unplaced.case_ref in page and "住所の位置(緯度経度)が求められていません。" in page
    entry = AuditEntry.objects.filter(
        action="survey_case.list_viewed", detail__view="plan_overview"
    ).last()
    assert unplaced.case_ref in entry.detail["refs"]


def test_the_day_page_lists_the_stops_in_order_with_the_route(
    planned, client_for, contract, people
):
    person = people[Role.SURVEYOR]
    route = routes_of(planned, person.pk)[0]
    date = planned.date_of(route["day"]).isoformat()
    response = client_for(Role.MANAGER).get(f"/planner/{contract.code}/plan/{person.pk}/{date}/")
    page = response.content.decode()
    assert response.status_code == 200
    positions = [page.index(ref) for ref in route["stops"]]
    assert positions == sorted(positions)
    for time in route["times"]:
        assert time in page
    layers = response.context["day_map"]
    assert len(layers.routes) == 1
    line = layers.routes[0]["points"]
    assert line[0] == line[-1]  # from the base and back
    assert len(line) == len(route["stops"]) + 2
    entry = AuditEntry.objects.filter(action="survey_case.list_viewed", detail__view="plan_day")
    assert set(entry.last().detail["refs"]) == set(route["stops"])


def test_a_surveyor_sees_only_their_own_routes(planned, client_for, contract, people, surveyor2):
    me = people[Role.SURVEYOR]
    client = client_for(Role.SURVEYOR)
    page = client.get(f"/planner/{contract.code}/plan/").content.decode()
    assert "c-surveyor2" not in page
    others = {s for r in routes_of(planned, surveyor2.pk) for s in r["stops"]}
    assert others and not any(ref in page for ref in others)
    # Another surveyor's day: 404, as if it did not exist.
    theirs = routes_of(planned, surveyor2.pk)[0]
    date = planned.date_of(theirs["day"]).isoformat()
    assert client.get(f"/planner/{contract.code}/plan/{surveyor2.pk}/{date}/").status_code == 404
    mine = routes_of(planned, me.pk)[0]
    date = planned.date_of(mine["day"]).isoformat()
    assert client.get(f"/planner/{contract.code}/plan/{me.pk}/{date}/").status_code == 200


@pytest.mark.parametrize(
    ("role", "sees_all"),
    [
        (Role.MANAGER, True),
        (Role.HANDLER, True),
        (Role.SURVEYOR, False),
        (Role.WARD_ADMIN, None),
        (Role.WARD_STAFF, None),
        (Role.WARD_AUDITOR, None),
    ],
)
def test_the_selector_scopes_the_plan_for_every_role(
    planned, people, contract, surveyor2, role, sees_all
):
    from django.http import Http404

    from genchi.planner import plan_selectors as selectors

    user = people[role]
    if sees_all is None:
        with pytest.raises(Http404):
            selectors.plan_contract_for(user, contract.code)
        return
    view = selectors.plan_for(user, contract)
    ids = {r["surveyor"] for r in view.routes}
    if sees_all:
        assert ids == {people[Role.SURVEYOR].pk, surveyor2.pk}
        assert view.all_visible
    else:
        assert ids == {user.pk}
        assert [p.pk for p in view.surveyors] == [user.pk]
        assert view.unassigned == [] and view.excluded == []


def test_a_handler_not_designated_sees_nothing(planned, contract, contractor):
    from django.http import Http404

    from genchi.planner import plan_selectors as selectors
    from tests.conftest import make_person

    colleague = make_person("c-h2", contractor, Role.HANDLER)
    with pytest.raises(Http404):
        selectors.plan_contract_for(colleague, contract.code)


def test_replan_button_replans_one_surveyor_and_keeps_the_others(
    planned, client_for, contract, people, surveyor2
):
    me = people[Role.SURVEYOR]
    first = routes_of(planned, me.pk)[0]
    from_date = planned.date_of(first["day"] + 1)
    response = client_for(Role.MANAGER).post(
        f"/planner/{contract.code}/plan/{me.pk}/replan/", {"from_date": from_date.isoformat()}
    )
    assert response.status_code == 302
    new = CampaignPlan.objects.get(contract=contract, current=True)
    assert new.version == 2 and new.kind == "replan"
    assert routes_of(new, surveyor2.pk) == routes_of(planned, surveyor2.pk)
    assert all(r["day"] >= first["day"] + 1 for r in routes_of(new, me.pk))
    assert new.plan["totals"]["seconds"] < 1.0
    assert AuditEntry.objects.filter(action="planner.plan.replanned").exists()


def test_a_locked_visit_stays_on_its_day_through_a_replan(planned, client_for, contract, people):
    me = people[Role.SURVEYOR]
    route = routes_of(planned, me.pk)[-1]
    ref = route["stops"][0]
    date = planned.date_of(route["day"])
    client = client_for(Role.MANAGER)
    client.post(
        f"/planner/{contract.code}/plan/{me.pk}/{date.isoformat()}/lock/",
        {"case_ref": ref, "lock": "on"},
    )
    planned.refresh_from_db()
    assert planned.locks == {ref: route["day"]}
    new = plans.replan_surveyor(contract, me.pk, planned.first_day, people[Role.MANAGER])
    days = [r["day"] for r in routes_of(new, me.pk) if ref in r["stops"]]
    assert route["day"] in days
    assert new.locks == {ref: route["day"]}


def test_the_surveyor_may_not_replan_or_lock(planned, client_for, contract, people):
    me = people[Role.SURVEYOR]
    client = client_for(Role.SURVEYOR)
    assert client.post(f"/planner/{contract.code}/plan/{me.pk}/replan/").status_code == 403
    assert client.post(f"/planner/{contract.code}/plan/solve/").status_code == 403


def test_the_plan_pages_say_when_results_wait_to_be_applied(
    planned, client_for, contract, people, cases
):
    person = people[Role.SURVEYOR]
    route = routes_of(planned, person.pk)[0]
    by_ref = {c.case_ref: c for c in cases}
    overview = f"/planner/{contract.code}/plan/"
    day = f"/planner/{contract.code}/plan/{person.pk}/{planned.date_of(route['day']).isoformat()}/"
    for url in (overview, day):
        assert "件の訪問結果を反映中" not in client_for(Role.MANAGER).get(url).content.decode()
    visited = timezone.make_aware(dt.datetime.combine(planned.date_of(route["day"]), dt.time(10)))
    for ref in route["stops"][:2]:
        plans.note_visit_result(by_ref[ref], visited, False, person)
    for role, url in ((Role.MANAGER, overview), (Role.SURVEYOR, overview), (Role.MANAGER, day)):
        assert "2 件の訪問結果を反映中" in client_for(role).get(url).content.decode()
    plans.apply_visit_results(contract.pk)  # the task's work: nothing waits any more
    assert "件の訪問結果を反映中" not in client_for(Role.MANAGER).get(overview).content.decode()

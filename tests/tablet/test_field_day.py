"""The day in the field at sync down (issue 16 item 9): today's route in the planner's
order with each stop's contact-slip number, the visit form, its rules and the S5 list."""

from __future__ import annotations

import pytest

from genchi.accounts.models import Role
from genchi.fieldwork.selectors import cases_for_tablet
from genchi.tablet import field_day, services
from tests.conftest import PASSWORD
from tests.planner.conftest import (  # noqa: F401, F811 - fixtures
    campaign,
    cases,
    office,
    planned,
    surveyor2,
)
from tests.tablet.conftest import FakeTablet

pytestmark = pytest.mark.django_db


def enrolled_for(people, contract):
    tablet = FakeTablet()
    device = services.confirm_enrolment(
        tablet.enrol(),
        contract=contract,
        surveyor=people[Role.SURVEYOR],
        label="T-01",
        by=people[Role.MANAGER],
    )
    tablet.device_id, tablet.device = str(device.pk), device
    return tablet


def test_todays_route_follows_the_plan_with_slip_numbers(planned, cases, people, contract):  # noqa: F811
    person = people[Role.SURVEYOR]
    route = next(r for r in planned.plan["routes"] if r["surveyor"] == person.pk)
    date = planned.date_of(route["day"])
    tablet = enrolled_for(people, contract)
    day = field_day.todays_route(tablet.device, date)
    # The plan's order, of the cases assigned to this surveyor (proposals are not theirs).
    mine = set(cases_for_tablet(person, contract).values_list("case_ref", flat=True))
    expected = [
        (ref, t) for ref, t in zip(route["stops"], route["times"], strict=True) if ref in mine
    ]
    assert expected
    assert [(s["ref"], s["time"]) for s in day["stops"]] == expected
    total = len(expected)
    assert [s["slip"] for s in day["stops"]] == [f"{n} / {total}" for n in range(1, total + 1)]
    # A day without a route has no stops (and no error).
    assert field_day.todays_route(tablet.device, date.replace(year=date.year - 5))["stops"] == []


def test_sync_down_brings_the_form_its_rules_and_the_word_list(planned, people, contract):  # noqa: F811
    tablet = enrolled_for(people, contract)
    assert tablet.sign_in(people[Role.SURVEYOR].username, PASSWORD).status_code == 200
    answer = tablet.sync().json()
    names = [f["name"] for f in answer["form"]]
    assert names[0] == "visited_at" and "outcome" in names and "photos" not in names
    outcome = next(f for f in answer["form"] if f["name"] == "outcome")
    assert outcome["kind"] == "radio" and len(outcome["choices"]) >= 5
    answered = next(f for f in answer["form"] if f["name"] == "answered")
    assert len(answered["true_values"]) == 1
    assert answer["rules"] == field_day.visit_rules()
    assert {c["code"] for c in answer["words"]["categories"]} >= {"creed", "health"}
    assert set(answer["route"]) == {"date", "stops"}
    mine = {c["ref"] for c in answer["cases"]}
    assert {s["ref"] for s in answer["route"]["stops"]} <= mine
    assert {"outcome", "needs_revisit", "review_reason"} <= set(answer["cases"][0])

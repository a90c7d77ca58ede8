"""The day page's "この日の連絡票を印刷": the day's contact slips in visiting order, for the
office and for the surveyor of that day; and the case page's slip link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from genchi.accounts.models import Role
from tests.planner.test_plan_pages import routes_of


@pytest.fixture
def slips_ready(contract):
    contract.contact_phone = "03-3209-1111"
    contract.contact_hours = "平日 8時30分〜17時15分"
    contract.contact_address = "東京都新宿区歌舞伎町一丁目4番1号"
    contract.save()


def day_page(client, contract, person, row, route):
    date = row.date_of(route["day"]).isoformat()
    response = client.get(f"/planner/{contract.code}/plan/{person.pk}/{date}/")
    assert response.status_code == 200
    return response


def refs_of(url: str) -> list[str]:
    parts = urlsplit(url)
    return parse_qs(parts.query)["refs"][0].split(",")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SURVEYOR])
def test_the_day_links_its_slips_in_route_order(
    planned, client_for, contract, people, slips_ready, role
):
    person = people[Role.SURVEYOR]
    client = client_for(role)
    for route in routes_of(planned, person.pk)[:3]:
        response = day_page(client, contract, person, planned, route)
        url = response.context["slips_url"]
        assert url.startswith(f"/fieldwork/slips/{contract.code}/?")
        shown = [stop["ref"] for stop in response.context["day"].stops]
        # The visiting order, not sorted; a surveyor's page leaves out (and so prints
        # no slip of) a stop whose case is not yet given to them.
        assert refs_of(url) == shown == [ref for ref in route["stops"] if ref in shown]
        if role == Role.MANAGER:
            assert shown == list(route["stops"])
        assert "この日の連絡票を印刷" in response.content.decode()
        pdf = client.get(url)
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"


def test_a_surveyor_cannot_print_another_surveyors_day(
    planned, client_for, contract, people, surveyor2, slips_ready
):
    theirs = routes_of(planned, surveyor2.pk)[0]
    client = client_for(Role.SURVEYOR)
    url = f"/fieldwork/slips/{contract.code}/?refs={','.join(theirs['stops'])}"
    response = client.get(url)
    assert response.status_code == 302  # refused, nothing printed


def test_the_case_page_links_its_slip(planned, client_for, contract, people, slips_ready):
    ref = routes_of(planned, people[Role.SURVEYOR].pk)[0]["stops"][0]
    client = client_for(Role.SURVEYOR)
    page = client.get(f"/fieldwork/cases/{contract.code}/{ref}/").content.decode()
    link = f"/fieldwork/cases/{contract.code}/{ref}/slip.pdf"
    assert link in page
    assert client.get(link)["Content-Type"] == "application/pdf"

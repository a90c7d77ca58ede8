"""The shell shows each person only what they can do: home tiles, the header before the
second factor, and account states in the people list (issue 13, Low list)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from genchi.accounts.models import Role, User
from genchi.accounts.selectors import AccountState, account_state
from tests.conftest import PASSWORD, make_person, signed_in_client

pytestmark = pytest.mark.django_db


def tiles(client) -> str:
    body = client.get("/").content.decode()
    return body[body.index('class="grid"') : body.index("担当している契約")]


def test_the_auditor_is_not_promised_changes_on_the_home_page(client_for):
    auditor = tiles(client_for(Role.WARD_AUDITOR))
    assert "取り込んだ調査対象の一覧" in auditor
    assert "修正" not in auditor
    assert "封緘する" not in auditor
    assert "貸出・返却・消去" not in auditor
    assert "担当者の指定" not in auditor
    staff = tiles(client_for(Role.WARD_STAFF))
    assert "一覧と修正" in staff and "封緘する" in staff and "貸出・返却・消去" in staff


def test_a_surveyor_is_told_of_their_own_cases_and_routes_not_of_assigning(client_for):
    surveyor = tiles(client_for(Role.SURVEYOR))
    assert "自分に割り当てられた案件" in surveyor and "自分の訪問日と順路" in surveyor
    assert "調査員への割当" not in surveyor and "調査員ごとの" not in surveyor
    manager = tiles(client_for(Role.MANAGER))
    assert "調査員への割当" in manager and "調査員ごとの訪問日と順路" in manager


def test_the_header_names_nobody_before_the_second_factor(ward):
    person = make_person("halfway", ward, Role.WARD_STAFF)
    person.full_name = "途中 太郎"
    person.save()
    client = Client()
    client.post("/signin/", {"username": "halfway", "password": PASSWORD})
    page = client.get("/signin/second-factor/").content.decode()
    header = page[page.index("<header") : page.index("</header>")]
    assert "途中 太郎" not in header and "halfway" not in header
    assert "サインアウト" not in header
    # The way back is on the page itself, and it signs the half-done session out.
    assert "サインインをやめる" in page
    client.post("/signout/")
    assert client.get("/signin/second-factor/").status_code == 302


def test_the_header_names_the_person_once_signed_in(ward):
    person = make_person("whole", ward, Role.WARD_STAFF)
    page = signed_in_client(person).get("/").content.decode()
    header = page[page.index("<header") : page.index("</header>")]
    assert "whole" in header and "サインアウト" in header


def test_account_state_most_restrictive_first(ward):
    now = timezone.now()
    person = make_person("states", ward, Role.WARD_STAFF)
    assert account_state(person, now) == AccountState.ACTIVE
    person.must_change_password = True
    assert account_state(person, now) == AccountState.SETTING_UP
    person.locked_until = now + timedelta(minutes=15)
    assert account_state(person, now) == AccountState.LOCKED
    assert account_state(person, now + timedelta(minutes=16)) == AccountState.SETTING_UP
    person.is_active = False
    assert account_state(person, now) == AccountState.DISABLED


def test_the_people_list_shows_a_locked_account_as_locked(client_for, people):
    staff = people[Role.WARD_STAFF]
    User.objects.filter(pk=staff.pk).update(locked_until=timezone.now() + timedelta(minutes=15))
    body = client_for(Role.WARD_ADMIN).get("/people/").content.decode()
    row = body[body.index(">w-staff<") :]
    row = row[: row.index("</tr>")]
    assert 'data-state="locked"' in row and "ロック中" in row
    assert "有効" not in row


def test_contracts_are_named_by_title_and_japanese_fiscal_year(client_for, contract):
    for path in ("/", "/contracts/"):
        body = client_for(Role.WARD_ADMIN).get(path).content.decode()
        table = body[body.index("<table") : body.index("</table>")]
        assert contract.title in table
        assert '<td class="nowrap">令和8年度</td>' in table and ">2026<" not in table
        # The contract's code is for commands and the contract's own page, not for tables.
        assert f">{contract.code}<" not in table

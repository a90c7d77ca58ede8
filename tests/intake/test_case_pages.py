"""The case list, a case and a batch as the ward reads them (issue 13): filters listing
each area once, search by blind index, keyset pages, filling a batch by condition with
its reasons, words instead of codes, and a fixed number of queries per page."""

from __future__ import annotations

import importlib
import json
import re

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from genchi.accounts.models import Role
from genchi.audit import chain
from genchi.geo import PREFECTURES, prefecture_code
from genchi.intake import search, selectors, services, views
from genchi.intake.models import Batch, Case

from .conftest import csv_bytes, row

pytestmark = pytest.mark.django_db

AREAS = [
    ("沖縄県那覇市泉崎1-2-2", "900-0021"),
    ("北海道札幌市中央区北一条西2丁目1", "060-0001"),
    ("東京都世田谷区太子堂4-1-1", "154-0004"),
    ("東京都世田谷区三軒茶屋1-1-1", "154-0024"),
    ("東京都渋谷区宇田川町1-1", "150-0042"),
    ("神奈川県横浜市中区山下町1-1", "231-0023"),
    ("福岡県福岡市中央区天神1-1-1", "810-0001"),
]


def _import(contract, rows) -> None:
    _run, report = services.import_file(contract, csv_bytes(rows))
    assert report.stored, report.message


def _people(n: int, *, start: int = 0) -> list[list[str]]:
    """n people spread over the areas, each with an amount and a tax year."""
    return [
        row(
            number=f"{1000 + i}",
            name=f"試験 {i:03d}",
            kana="シケン",
            address=AREAS[i % len(AREAS)][0],
            postal=AREAS[i % len(AREAS)][1],
            amount=str(1000 * (i + 1)),
            year=str(2018 + i % 5),
        )
        for i in range(start, start + n)
    ]


def _amount(case: Case) -> int:
    return json.loads(case.ward_notes)["amount_owed"]


def _options(page: str, select_id: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', page, re.S).group(0)
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


# --- filters ---------------------------------------------------------------------------


def test_prefectures_are_in_jis_order():
    assert len(PREFECTURES) == 47 and PREFECTURES[0] == "北海道" and PREFECTURES[-1] == "沖縄県"
    assert prefecture_code("東京都") == 13 and prefecture_code("どこか") == 99


def test_filters_list_each_area_once_in_prefecture_order(client_for, contract):
    _import(contract, _people(28))  # four cases per area
    page = client_for(Role.WARD_STAFF).get("/cases/").content.decode()
    prefs = _options(page, "id_pref")
    assert prefs == ["北海道", "東京都", "神奈川県", "福岡県", "沖縄県"]
    assert _options(page, "id_city") == []  # chosen after the prefecture
    # The page carries each prefecture's cities once, for the script that fills the list.
    cities = json.loads(re.search(r'id="city-map"[^>]*>(.*?)</script>', page).group(1))
    assert cities == {
        "北海道": ["札幌市中央区"],
        "東京都": ["世田谷区", "渋谷区"],
        "神奈川県": ["横浜市中区"],
        "福岡県": ["福岡市中央区"],
        "沖縄県": ["那覇市"],
    }


def test_a_chosen_prefecture_lists_only_its_cities_and_a_stale_city_is_dropped(
    client_for, contract
):
    _import(contract, _people(14))
    client = client_for(Role.WARD_STAFF)
    page = client.get("/cases/?pref=東京都").content.decode()
    assert _options(page, "id_city") == ["世田谷区", "渋谷区"]
    # The city of another prefecture (the form sent without script) is not an error.
    response = client.get("/cases/?pref=東京都&city=那覇市")
    assert response.status_code == 200
    assert response.context["total"] == 6  # every Tokyo case, the stale city ignored


def test_facets_cost_one_query_whatever_the_number_of_cases(contract):
    _import(contract, _people(21))
    with CaptureQueriesContext(connection) as captured:
        facets = selectors.facet_values(Case.objects.all())
    assert len(captured) == 1 and "DISTINCT" in captured[0]["sql"]
    assert sum(len(c) for c in facets.cities_by_pref.values()) == 6


# --- search by blind index ------------------------------------------------------------


def test_search_by_exact_name_taxpayer_number_or_reference(client_for, contract):
    _import(
        contract,
        [
            *_people(3),
            row(number="A-77", name="山田　太郎", address=AREAS[1][0], postal=AREAS[1][1]),
        ],
    )
    client = client_for(Role.WARD_STAFF)
    yamada = Case.objects.order_by("pk").last()
    for query in ("山田太郎", "山田 太郎", "山田　太郎", " A-77 ", "A77", "Ａ－７７"):
        cases = client.get("/cases/", {"q": query}).context["cases"]
        assert [c.pk for c in cases] == [yamada.pk], query
    assert list(client.get("/cases/", {"q": "山田"}).context["cases"]) == []  # exact only
    by_ref = client.get("/cases/", {"q": yamada.short_ref}).context["cases"]
    assert [c.pk for c in by_ref] == [yamada.pk]
    # The columns hold keyed hashes, never the name or number.
    stored = Case.objects.filter(pk=yamada.pk).values("name_key", "taxpayer_key").get()
    assert re.fullmatch("[0-9a-f]{64}", stored["name_key"])
    assert stored["name_key"] == search.name_key(contract.pk, "山田太郎")
    assert stored["taxpayer_key"] == search.taxpayer_key(contract.pk, "A77")
    assert stored["name_key"] != search.taxpayer_key(contract.pk, "山田太郎")


def test_the_migration_fills_the_keys_of_existing_cases(contract):
    _import(contract, _people(5))
    Case.objects.update(name_key="", taxpayer_key="")
    migration = importlib.import_module("genchi.intake.migrations.0007_case_search_keys")

    class Editor:
        connection = connection

    migration.fill_search_keys(apps, Editor())
    for case in Case.objects.all():
        assert case.name_key == search.name_key(contract.pk, case.name)
        assert case.taxpayer_key == search.taxpayer_key(contract.pk, case.taxpayer_no)


def test_correcting_an_address_keeps_the_search_keys(client_for, contract):
    _import(contract, [row(address="東京都世田谷区存在しない町99", postal="", number="55")])
    case = Case.objects.get()
    before = (case.name_key, case.taxpayer_key)
    assert all(before)
    services.correct_address(
        case, address="東京都世田谷区太子堂4-1-1", building_line="", postal_code=""
    )
    case.refresh_from_db()
    assert (case.name_key, case.taxpayer_key) == before


# --- keyset pages ----------------------------------------------------------------------


def test_pages_follow_each_other_by_id(client_for, contract, monkeypatch):
    monkeypatch.setattr(views, "CASES_PER_PAGE", 3)
    _import(contract, _people(7))
    client = client_for(Role.WARD_STAFF)
    ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    first = client.get("/cases/")
    assert [c.pk for c in first.context["cases"]] == ids[:3]
    assert first.context["page"].previous_before is None
    second = client.get("/cases/", {"after": first.context["page"].next_after})
    assert [c.pk for c in second.context["cases"]] == ids[3:6]
    third = client.get("/cases/", {"after": second.context["page"].next_after})
    assert [c.pk for c in third.context["cases"]] == ids[6:]
    assert third.context["page"].next_after is None
    back = client.get("/cases/", {"before": third.context["page"].previous_before})
    assert [c.pk for c in back.context["cases"]] == ids[3:6]
    assert 'rel="prev"' in back.content.decode() and 'rel="next"' in back.content.decode()
    assert client.get("/cases/", {"after": "x"}).status_code == 200  # odd input: first page


# --- filling a batch by condition ------------------------------------------------------


def test_fill_uses_the_area_selects_and_picks_the_highest_amounts(client_for, contract):
    contract.max_cases = 2
    contract.save()
    _import(contract, _people(14))
    batch = services.create_batch(contract, title="東京", priority="amount_desc")
    client = client_for(Role.WARD_STAFF)
    page = client.get(f"/batches/{batch.pk}/").content.decode()
    assert _options(page, "id_fill-pref") == ["北海道", "東京都", "神奈川県", "福岡県", "沖縄県"]
    client.post(
        f"/batches/{batch.pk}/fill/",
        {"fill-pref": "東京都", "fill-city": "世田谷区", "fill-min_level": "3"},
    )
    chosen = [i.case for i in batch.items.order_by("position")]
    setagaya = sorted(Case.objects.filter(city="世田谷区"), key=lambda c: -_amount(c))
    assert [c.pk for c in chosen] == [c.pk for c in setagaya[:2]]
    assert all(c.status == Case.Status.IN_BATCH for c in chosen)


def test_a_free_text_area_is_refused_not_silently_matched(client_for, contract):
    _import(contract, _people(7))
    batch = services.create_batch(contract)
    response = client_for(Role.WARD_STAFF).post(
        f"/batches/{batch.pk}/fill/", {"fill-pref": "東京", "fill-min_level": "3"}
    )
    assert response.status_code == 200  # the page again, the select saying what is wrong
    assert "fill-pref" in response.content.decode() and not batch.items.exists()


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        ("all_taken", "東京都世田谷区 の案件は、すべて選定済みです"),
        ("low_level", "東京都渋谷区 の案件は、住所が町字まで特定できていません"),
        ("full", "上限(1 件)に達しています"),
    ],
)
def test_zero_added_says_why(client_for, contract, situation, expected):
    contract.max_cases = 1
    contract.save()
    _import(
        contract,
        [
            row(number="1", address=AREAS[2][0], postal=AREAS[2][1]),
            row(number="2", name="佐藤 花子", address="東京都渋谷区存在しない町9", postal=""),
        ],
    )
    batch = services.create_batch(contract)
    data = {"fill-pref": "東京都", "fill-city": "世田谷区", "fill-min_level": "3"}
    if situation == "all_taken":
        services.fill_by_condition(services.create_batch(contract), pref="東京都", city="世田谷区")
    elif situation == "low_level":
        data["fill-city"] = "渋谷区"
    else:
        services.fill_by_condition(batch, pref="東京都", city="世田谷区")
        data.update({"fill-city": "渋谷区", "fill-min_level": "0"})
    response = client_for(Role.WARD_STAFF).post(f"/batches/{batch.pk}/fill/", data, follow=True)
    assert expected in response.content.decode()


def test_zero_added_in_an_area_without_cases_says_so(contract):
    _import(contract, [row()])
    added = services.fill_by_condition(services.create_batch(contract), pref="福岡県")
    assert added.count == 0 and added.reason == "福岡県 の案件はありません。"


@pytest.mark.parametrize("priority", ["amount_desc", "imported_asc"])
def test_adding_no_case_by_hand_adds_nothing(contract, priority):
    _import(contract, [row()])
    batch = services.create_batch(contract, priority=priority)
    assert services.add_cases(batch, []) == 0 and not batch.items.exists()


def test_filling_from_many_cases_sends_no_list_of_ids(contract):
    _import(contract, _people(60))
    batch = services.create_batch(contract, priority="amount_desc")
    with CaptureQueriesContext(connection) as captured:
        added = services.fill_by_condition(batch)
    assert added.count == 60
    # Every statement is the same size whatever the number of cases (no IN (1, 2, …)).
    assert max(len(q["sql"]) for q in captured if "INSERT" not in q["sql"]) < 1500
    amounts = [_amount(i.case) for i in batch.items.order_by("position")]
    assert amounts == sorted(amounts, reverse=True)


# --- words, not codes ------------------------------------------------------------------


def test_pages_show_names_words_and_formatted_values(client_for, contract):
    _import(contract, [row(amount="8000", year="2022")])
    case = Case.objects.get()
    client = client_for(Role.WARD_STAFF)
    listing = client.get("/cases/").content.decode()
    first_cell = re.search(
        r"<tbody><tr>\s*(?:<td>(?:<input[^>]*>)?</td>\s*)?<td>(.*?)</td>", listing
    )
    assert "山田 太郎" in first_cell.group(1)
    assert case.short_ref in listing and contract.title in listing
    assert f'class="mono">{contract.code}<' not in listing
    detail = client.get(f"/cases/{case.ref}/").content.decode()
    assert "<title>山田 太郎" in detail and case.short_ref in detail
    assert "8,000 円" in detail and "令和4年度" in detail and ">2022<" not in detail
    # No raw coordinates to read: a small map instead, whose data carries the point.
    shown = re.sub(r'<script id="case-map-data".*?</script>', "", detail, flags=re.S)
    assert case.lat and case.lat not in shown and case.lng not in shown
    assert 'data-map="case-map-data"' in detail
    assert f'"lat": {float(case.lat)}' in detail
    assert "(J3)" not in detail and "(C-O" not in detail
    batch = services.create_batch(contract, title="6月分", priority="amount_desc")
    page = client.get(f"/batches/{batch.pk}/").content.decode()
    assert "滞納額の多い順" in page and "amount_desc" not in page.replace('value="amount_desc"', "")
    assert "第 1 バッチ(6月分)" in page
    listing = client.get("/batches/").content.decode()
    assert "滞納額の多い順" in listing and ">amount_desc<" not in listing


# --- a fixed number of queries ---------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize("page", ["list", "filtered", "search", "case", "batch", "audit"])
def test_each_page_costs_the_same_queries_with_5_and_with_50_rows(client_for, contract, page):
    staff, auditor = client_for(Role.WARD_STAFF), client_for(Role.WARD_AUDITOR)
    counts = []
    for n, start in ((5, 0), (45, 5)):
        _import(contract, _people(n, start=start))
        batch = Batch.objects.first() or services.create_batch(contract, priority="imported_asc")
        services.add_cases(batch, services.eligible_cases(contract))
        for i in range(n):
            chain.record(
                "case.viewed", object_type="intake.case", object_id=str(i), contract=contract
            )
        case = Case.objects.order_by("-pk").first()
        url = {
            "list": "/cases/",
            "filtered": "/cases/?pref=東京都&city=世田谷区&status=in_batch",
            "search": f"/cases/?q={case.taxpayer_no}",
            "case": f"/cases/{case.ref}/",
            "batch": f"/batches/{batch.pk}/",
            "audit": "/audit/?action=case.viewed",
        }[page]
        counts.append(_queries(auditor if page == "audit" else staff, url))
    assert counts[0] == counts[1], counts


def test_an_import_refreshes_the_planner_statistics(contract):
    """SQLite plans the audit page and the filters from statistics that ANALYZE writes
    (genchi.core.dbstats); an import, which grows the case table, refreshes them."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL keeps its own statistics")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")
        _import(contract, _people(3))
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'intake_case'")
        assert cursor.fetchone()[0] > 0

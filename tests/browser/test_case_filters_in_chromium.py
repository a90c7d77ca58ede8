"""The area filters in a real browser (issue 13 items 3 and 8): the case list and the batch
page offer each prefecture once, in JIS order, and the city list follows the chosen
prefecture, both when the page's script refills it and when the server renders it."""

from __future__ import annotations

from genchi.geo import prefecture_code

from .test_pages_in_chromium import demo_server, signed_in  # noqa: F401 - fixtures

PAGE_WIDTH = 1366


def _options(page, selector: str) -> list[str]:
    return [v for v in page.locator(f"{selector} option").evaluate_all(
        "options => options.map(o => o.value)"
    ) if v]  # fmt: skip


def _check_follows(page, pref_select: str, city_select: str) -> tuple[str, list[str]]:
    """Each prefecture once in JIS order; picking one fills the city list with its
    cities, each once. Returns the prefecture with the most cities, left chosen."""
    prefs = _options(page, pref_select)
    assert prefs and len(prefs) == len(set(prefs)), prefs
    codes = [prefecture_code(p) for p in prefs]
    assert codes == sorted(codes) and max(codes) <= 47, prefs
    assert _options(page, city_select) == []  # chosen after the prefecture
    lists = {}
    for pref in prefs:
        page.select_option(pref_select, pref)
        lists[pref] = _options(page, city_select)
        assert lists[pref] and len(lists[pref]) == len(set(lists[pref])), lists[pref]
    assert len({tuple(cities) for cities in lists.values()}) == len(prefs)  # they change
    pref = max(lists, key=lambda p: len(lists[p]))
    page.select_option(pref_select, pref)
    assert _options(page, city_select) == lists[pref]
    return pref, lists[pref]


def test_the_area_filters_list_each_value_once_and_follow_the_prefecture(
    demo_server,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    base = demo_server["url"]
    shots = tmp_path / "shots"
    shots.mkdir()
    with signed_in(demo_server, "ward-staff") as (page, problems):
        page.set_viewport_size({"width": PAGE_WIDTH, "height": 900})
        page.goto(base + "/cases/")
        page.screenshot(path=str(shots / "case_list.png"), full_page=False)
        pref, cities = _check_follows(page, "#id_pref", "#id_city")
        city = cities[0]
        page.select_option("#id_city", city)
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("#id_pref").input_value() == pref
        assert page.locator("#id_city").input_value() == city
        rows = page.locator("main tbody tr").all_inner_texts()
        assert rows and all(pref + city in r for r in rows), rows[:3]
        # Without script the server lists the same cities for the chosen prefecture.
        assert _options(page, "#id_city") == cities
        page.screenshot(path=str(shots / "case_list_filtered.png"), full_page=False)

        page.click("tbody tr td a >> nth=0")
        page.wait_for_load_state()
        page.screenshot(path=str(shots / "case_detail.png"), full_page=True)

        page.goto(base + "/batches/")
        page.fill("#id_title", "地域で選ぶ")
        page.click("form[action$='/batches/new/'] button[type=submit]")
        page.wait_for_load_state()
        _check_follows(page, "#id_fill-pref", "#id_fill-city")
        page.select_option("#id_fill-min_level", "0")
        page.click("form[action$='/fill/'] button[type=submit]")
        page.wait_for_load_state()
        assert "件を追加しました" in page.inner_text("main")
        page.screenshot(path=str(shots / "batch_detail.png"), full_page=False)
        page.goto(base + "/batches/")
        page.screenshot(path=str(shots / "batch_list.png"), full_page=False)
    assert not problems, "\n".join(problems)

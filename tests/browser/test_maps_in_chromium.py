"""Maps draw in a real browser from what Genchi ships, and nothing is fetched from
anywhere else (D5): the contractor's case list and the ward's case page."""

from __future__ import annotations

from urllib.parse import urlsplit

from .test_pages_in_chromium import demo_server, signed_in  # noqa: F401 - fixtures


def _drawn(page, selector: str) -> tuple[int, int]:
    page.wait_for_selector(f"{selector}[data-basemap-loaded]", timeout=15000)
    return (
        int(page.get_attribute(selector, "data-drawn")),
        int(page.get_attribute(selector, "data-basemap-loaded")),
    )


def test_maps_draw_offline_with_markers_and_the_outline_of_japan(
    demo_server,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    base = demo_server["url"]
    own_host = urlsplit(base).netloc
    with signed_in(demo_server, "manager") as (page, problems):
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(base + "/fieldwork/cases/")
        markers, outline = _drawn(page, "#case-list-map")
        assert markers > 100 and outline == 47
        # Markers are SVG circles in Leaflet's overlay pane, coloured per surveyor.
        colours = set(page.locator(".leaflet-overlay-pane path.leaflet-interactive").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('fill'))"
        ))  # fmt: skip
        assert len(colours - {None, "none"}) >= 2
        page.screenshot(path=str(tmp_path / "case_list_map.png"))
        page.click(".leaflet-overlay-pane path.leaflet-interactive >> nth=-1", force=True)
        page.wait_for_url(base + "/fieldwork/cases/*/*/")
        assert not problems, problems
    with signed_in(demo_server, "ward-staff") as (page, problems):
        page.goto(base + "/cases/")
        page.click("tbody tr td a >> nth=0")
        page.wait_for_load_state()
        markers, outline = _drawn(page, "#case-map")
        assert markers == 1 and outline == 47
        assert not problems, problems
    outside = [url for url in requested if urlsplit(url).netloc not in (own_host, "")]
    assert not outside, outside

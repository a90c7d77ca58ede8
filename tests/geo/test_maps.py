"""Maps: the layers a page draws, the shipped outline of Japan, and the tile setting."""

import json
import math
from pathlib import Path

import pytest
from django.template import Context, Template

from genchi.geo.maps import PALETTE, UNGROUPED, MapLayers, convex_hull, tile_origin, valid_point

BASEMAP = (
    Path(__file__).resolve().parents[2] / "genchi" / "geo" / "static" / "geo" / "japan.geojson"
)


def test_convex_hull_keeps_the_corners_only():
    square = [(0, 0), (0, 2), (2, 2), (2, 0), (1, 1), (1, 0), (0, 0)]
    assert sorted(convex_hull(square)) == [(0, 0), (0, 2), (2, 0), (2, 2)]
    assert convex_hull([(1, 1), (1, 1)]) == [(1, 1)]
    # Points on a line have no area: no corner is kept twice.
    assert len(convex_hull([(0, 0), (1, 1), (2, 2)])) == 2


@pytest.mark.parametrize(
    "lat,lng",
    [("", "139.7"), (None, 1), ("nan", "139"), ("91", "139"), ("35", "181"), ("abc", "1")],
)
def test_points_that_cannot_be_drawn_are_left_out(lat, lng):
    assert valid_point(lat, lng) is None
    layers = MapLayers()
    assert layers.marker(lat, lng, label="x") is False
    assert layers.empty


def test_groups_take_colours_in_order_and_items_carry_theirs():
    layers = MapLayers()
    a = layers.group("s1", "早稲田 健")
    b = layers.group("s2", "四谷 由美")
    assert layers.group("s1", "again") == "s1"  # declared once
    layers.marker("35.69", "139.70", label="A", group=a, href="/x/")
    layers.marker(35.70, 139.71, label="B", group=b)
    layers.marker(35.71, 139.72, label="C", group=b)
    layers.marker(35.72, 139.70, label="D", group=b)
    layers.marker(35.6, 139.6, label="E")
    layers.hull_of_markers(b, label="area")
    layers.hull_of_markers(a)  # one point: no area to draw
    layers.route([(35.69, 139.70), ("x", "y"), (35.70, 139.71)], group=a)
    data = layers.as_json()
    assert data["groups"]["s1"]["color"] == PALETTE[0]
    assert data["groups"]["s2"]["color"] == PALETTE[1]
    assert [m["color"] for m in data["markers"]] == [PALETTE[0]] + [PALETTE[1]] * 3 + [UNGROUPED]
    assert len(data["hulls"]) == 1 and len(data["hulls"][0]["points"]) == 3
    assert data["routes"][0]["points"] == [(35.69, 139.70), (35.70, 139.71)]
    json.dumps(data)  # what the page embeds


def test_the_outline_of_japan_has_every_prefecture_and_the_municipality_names():
    collection = json.loads(BASEMAP.read_text(encoding="utf-8"))
    prefs = [f for f in collection["features"] if f["properties"]["kind"] == "pref"]
    cities = [f for f in collection["features"] if f["properties"]["kind"] == "city"]
    assert [f["properties"]["code"] for f in prefs] == [f"{n:02d}" for n in range(1, 48)]
    names = {f["properties"]["code"]: f["properties"]["name"] for f in prefs}
    assert names["01"] == "北海道" and names["13"] == "東京都" and names["47"] == "沖縄県"
    for f in prefs:
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) > 10, f["properties"]["name"]
        assert all(122 <= lng <= 146 and 24 <= lat <= 46 for lng, lat in ring)
    tokyo = next(f for f in prefs if f["properties"]["code"] == "13")
    lngs = [p[0] for p in tokyo["geometry"]["coordinates"][0]]
    lats = [p[1] for p in tokyo["geometry"]["coordinates"][0]]
    assert min(lngs) < 139.69 < max(lngs) and min(lats) < 35.69 < max(lats)  # 新宿 inside
    assert len(cities) > 1700
    shinjuku = next(f for f in cities if f["properties"]["name"] == "新宿区")
    lng, lat = shinjuku["geometry"]["coordinates"]
    assert math.dist((lng, lat), (139.70, 35.69)) < 0.05


def render_map(layers: MapLayers) -> str:
    template = Template('{% load maps %}{% genchi_map layers "case-map" "small" "地図" %}')
    return template.render(Context({"layers": layers}))


def test_the_map_tag_embeds_its_layers_and_calls_no_tile_server_by_default(settings):
    settings.GENCHI_MAP_TILE_URL = ""
    layers = MapLayers()
    layers.group("s1", "<b>早稲田</b>")
    layers.marker(35.69, 139.70, label="<script>", group="s1")
    html = render_map(layers)
    assert 'data-map="case-map-data"' in html and 'id="case-map-data"' in html
    assert "data-tiles" not in html
    assert "<script>" not in html.split('id="case-map-data"')[1].split("</script>")[0]
    assert "&lt;b&gt;早稲田&lt;/b&gt;" in html  # the legend escapes names


def test_a_configured_tile_server_is_named_on_the_map(settings):
    settings.GENCHI_MAP_TILE_URL = "https://tiles.example.jp/std/{z}/{x}/{y}.png"
    settings.GENCHI_MAP_TILE_ATTRIBUTION = "出典: 例"
    html = render_map(MapLayers())
    assert 'data-tiles="https://tiles.example.jp/std/{z}/{x}/{y}.png"' in html
    assert "出典: 例" in html


def test_tile_urls_are_checked_and_reduced_to_their_origin():
    assert tile_origin("https://tiles.example.jp:8443/a/{z}/{x}/{y}.png") == (
        "https://tiles.example.jp:8443"
    )
    with pytest.raises(ValueError, match="http"):
        tile_origin("ftp://tiles.example.jp/{z}/{x}/{y}.png")
    with pytest.raises(ValueError, match=r"\{y\}"):
        tile_origin("https://tiles.example.jp/{z}/{x}.png")


def _settings_with(tmp_path, tile_url: str):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(tmp_path),
        "GENCHI_MAP_TILE_URL": tile_url,
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
    }
    code = "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_only_the_configured_tile_origin_is_let_through_the_csp(tmp_path):
    result = _settings_with(tmp_path, "https://tiles.example.jp/std/{z}/{x}/{y}.png")
    assert result.returncode == 0, result.stderr
    assert "https://tiles.example.jp" in result.stdout and "'self'" in result.stdout
    assert "tiles.example.jp" not in _settings_with(tmp_path, "").stdout
    broken = _settings_with(tmp_path, "tiles.example.jp/{z}")
    assert broken.returncode != 0 and "GENCHI_MAP_TILE_URL" in broken.stderr

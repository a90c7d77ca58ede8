"""What a map shows, as plain data: markers, areas (hulls) and routes, by group.

Views build a `MapLayers`, the `{% genchi_map %}` tag (templatetags/maps.py) embeds it as
JSON, and `static/geo/map.js` draws it with the Leaflet shipped in Genchi over the
offline outline of Japan (`static/geo/japan.geojson`, built by scripts/build_basemap.py).
A tile server is used only when `GENCHI_MAP_TILE_URL` is set (docs/maps.md): by default
the map calls nothing outside Genchi.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Okabe–Ito: told apart by people with the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
UNGROUPED = "#7A7A7A"

Point = tuple[float, float]  # (lat, lng)


def valid_point(lat: object, lng: object) -> Point | None:
    """(lat, lng) as floats when both are finite numbers on the globe, else None."""
    try:
        point = float(lat), float(lng)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in point):
        return None
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        return None
    return point


def convex_hull(points: list[Point]) -> list[Point]:
    """The convex hull (Andrew's monotone chain), counter-clockwise, without repeating the
    first point; fewer than three distinct points come back as they are."""
    unique = sorted(set(points))
    if len(unique) < 3:
        return unique

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    for p in unique:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(unique):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


@dataclass
class MapLayers:
    """Markers, hulls and routes; each may name a group (a surveyor, a status) that gives
    its colour and its line in the legend."""

    groups: dict[str, dict] = field(default_factory=dict)
    markers: list[dict] = field(default_factory=list)
    hulls: list[dict] = field(default_factory=list)
    routes: list[dict] = field(default_factory=list)

    def group(self, key: str, label: str, *, neutral: bool = False) -> str:
        """Declare a group once; its colour comes from the palette in order of declaration,
        or is the neutral grey (`neutral`: what is nobody's yet, e.g. unassigned cases)."""
        if key not in self.groups:
            coloured = sum(1 for g in self.groups.values() if g["color"] != UNGROUPED)
            colour = UNGROUPED if neutral else PALETTE[coloured % len(PALETTE)]
            self.groups[key] = {"label": label, "color": colour}
        return key

    def colour_of(self, group: str) -> str:
        return self.groups[group]["color"] if group in self.groups else UNGROUPED

    def marker(self, lat: object, lng: object, *, label: str, group: str = "", href: str = ""):
        point = valid_point(lat, lng)
        if point is None:
            return False
        self.markers.append(
            {"lat": point[0], "lng": point[1], "label": label, "group": group, "href": href}
        )
        return True

    def hull_of_markers(self, group: str, *, label: str = "") -> None:
        """The area a group's markers cover, drawn as their convex hull."""
        points = [(m["lat"], m["lng"]) for m in self.markers if m["group"] == group]
        hull = convex_hull(points)
        if len(hull) >= 3:
            self.hulls.append({"group": group, "label": label, "points": hull})

    def route(self, points: list[Point], *, group: str = "", label: str = "") -> None:
        line = [p for p in (valid_point(lat, lng) for lat, lng in points) if p]
        if len(line) >= 2:
            self.routes.append({"group": group, "label": label, "points": line})

    @property
    def empty(self) -> bool:
        return not (self.markers or self.hulls or self.routes)

    def as_json(self) -> dict:
        def coloured(layer: list[dict]) -> list[dict]:
            return [{**item, "color": self.colour_of(item["group"])} for item in layer]

        return {
            "groups": self.groups,
            "markers": coloured(self.markers),
            "hulls": coloured(self.hulls),
            "routes": coloured(self.routes),
        }


def tile_origin(url: str) -> str:
    """The origin (scheme://host[:port]) of a tile URL template such as
    ``https://tiles.example.jp/{z}/{x}/{y}.png``, for the Content-Security-Policy.
    Raises ValueError, in words, for a URL a map could not use."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"GENCHI_MAP_TILE_URL は http(s):// で始まる URL にしてください: {url}")
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        raise ValueError(
            f"GENCHI_MAP_TILE_URL に {' '.join(missing)} がありません(例: …/{{z}}/{{x}}/{{y}}.png)"
        )
    return f"{parts.scheme}://{parts.netloc}"

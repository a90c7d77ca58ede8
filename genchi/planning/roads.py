"""Travel from a road network: an OSRM or Valhalla server that the contractor runs.

Both implement `TravelProvider.matrix(points)` like `StraightLine`: distances in km and
travel times in whole minutes (seconds ÷ 60, rounded up), diagonal 0. They are plain
Python (urllib, no Django) and are used only when the caller passes one to `solve()`,
`replan()` or `check_plan()`; the office pages build one from the settings
(`GENCHI_ROUTING_ENGINE`, `GENCHI_ROUTING_URL`) and never otherwise, so Genchi calls no
server unless one is configured (D5).

- `OsrmTable(url, profile="driving")`: OSRM's table service,
  ``GET {url}/table/v1/{profile}/{lng,lat;…}?sources=…&destinations=…&annotations=distance,duration``.
- `ValhallaMatrix(url, costing="auto")`: Valhalla's matrix service,
  ``POST {url}/sources_to_targets`` with ``{"sources": [...], "targets": [...],
  "costing": …, "units": "kilometers"}``.

Large matrices are asked for in blocks of `block` × `block` points (a server limits the
size of one table: OSRM's `--max-table-size` is 100 by default). A pair the road network
cannot join (the server answers null, e.g. an island without a ferry in the data) gets
the straight-line figure of `fallback`. A server that cannot be reached, answers with an
error or with something that is not a matrix raises `RoutingError` with a Japanese
message that names the server.
"""

from __future__ import annotations

import contextlib
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genchi.planning._messages import _
from genchi.planning.cost import Point, StraightLine, TravelMatrix


class RoutingError(RuntimeError):
    """The road-network server could not give a matrix; the message says why, in Japanese."""


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RoutingError(
            _("経路計算サーバーの URL は http:// か https:// で始めてください: %(url)s")
            % {"url": url}
        )
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class _RoadProvider:
    url: str
    timeout: float = 10.0
    block: int = 100
    fallback: StraightLine = field(default_factory=lambda: StraightLine(25.0, 1.3))

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        base = _check_url(self.url)
        n = len(points)
        km = np.zeros((n, n), dtype=float)
        seconds = np.zeros((n, n), dtype=float)
        missing = np.zeros((n, n), dtype=bool)
        blocks = [list(range(i, min(i + self.block, n))) for i in range(0, n, self.block)]
        for rows in blocks:
            for cols in blocks:
                dist, dur = self._block(base, points, rows, cols)
                for a, i in enumerate(rows):
                    for b, j in enumerate(cols):
                        d, t = dist[a][b], dur[a][b]
                        if d is None or t is None:
                            missing[i, j] = True
                        else:
                            km[i, j] = float(d)
                            seconds[i, j] = float(t)
        minutes = np.ceil(np.round(seconds / 60, 6)).astype(np.int64)
        if missing.any():
            straight = self.fallback.matrix(points)
            km = np.where(missing, straight.km, km)
            minutes = np.where(missing, straight.minutes, minutes)
        np.fill_diagonal(km, 0.0)
        np.fill_diagonal(minutes, 0)
        return TravelMatrix(km=km, minutes=minutes.clip(min=0))

    def _block(self, base, points, rows, cols) -> tuple[list[list], list[list]]:
        raise NotImplementedError

    def _fetch(self, request: urllib.request.Request) -> Any:
        """The decoded JSON answer, or RoutingError naming the server."""
        where = urllib.parse.urlsplit(self.url).netloc
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - URL checked: http(s) only
                body = response.read()
        except urllib.error.HTTPError as exc:
            detail = ""
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(exc.read() or b"{}").get("message", "")
            raise RoutingError(
                _("経路計算サーバー(%(where)s)がエラーを返しました(HTTP %(code)s)。%(detail)s")
                % {"where": where, "code": exc.code, "detail": detail}
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RoutingError(
                _(
                    "経路計算サーバー(%(where)s)に接続できません: %(reason)s。"
                    "サーバーが動いているか、設定(GENCHI_ROUTING_URL)を確認してください。"
                )
                % {"where": where, "reason": reason}
            ) from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RoutingError(
                _("経路計算サーバー(%(where)s)の応答が JSON ではありません。") % {"where": where}
            ) from exc

    def _bad_answer(self) -> RoutingError:
        where = urllib.parse.urlsplit(self.url).netloc
        return RoutingError(
            _("経路計算サーバー(%(where)s)の応答が距離・時間の表になっていません。")
            % {"where": where}
        )


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


@dataclass(frozen=True, slots=True)
class OsrmTable(_RoadProvider):
    """OSRM's table service (`osrm-routed`); `profile` is the path's profile name."""

    profile: str = "driving"

    def _block(self, base, points, rows, cols):
        union = rows + [c for c in cols if c not in rows]
        where = {p: k for k, p in enumerate(union)}
        coords = ";".join(f"{points[p][1]:.6f},{points[p][0]:.6f}" for p in union)
        query = urllib.parse.urlencode(
            {
                "sources": ";".join(str(where[r]) for r in rows),
                "destinations": ";".join(str(where[c]) for c in cols),
                "annotations": "distance,duration",
            },
            safe=";,",
        )
        profile = urllib.parse.quote(self.profile, safe="")
        url = f"{base}/table/v1/{profile}/{coords}?{query}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        data = self._fetch(request)
        if not isinstance(data, dict) or data.get("code") != "Ok":
            message = data.get("message", "") if isinstance(data, dict) else ""
            where_ = urllib.parse.urlsplit(self.url).netloc
            raise RoutingError(
                _("経路計算サーバー(%(where)s)が表を返しませんでした: %(detail)s")
                % {"where": where_, "detail": message or data}
            )
        distances, durations = data.get("distances"), data.get("durations")
        if not _shaped(distances, len(rows), len(cols)) or not _shaped(
            durations, len(rows), len(cols)
        ):
            raise self._bad_answer()
        km = [[None if (d := _finite(v)) is None else d / 1000 for v in row] for row in distances]
        sec = [[_finite(v) for v in row] for row in durations]
        return km, sec


@dataclass(frozen=True, slots=True)
class ValhallaMatrix(_RoadProvider):
    """Valhalla's matrix service; `costing` is Valhalla's costing model (auto, pedestrian…)."""

    costing: str = "auto"

    def _block(self, base, points, rows, cols):
        body = {
            "sources": [{"lat": points[r][0], "lon": points[r][1]} for r in rows],
            "targets": [{"lat": points[c][0], "lon": points[c][1]} for c in cols],
            "costing": self.costing,
            "units": "kilometers",
        }
        request = urllib.request.Request(  # noqa: S310 - URL checked: http(s) only
            f"{base}/sources_to_targets",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        data = self._fetch(request)
        table = data.get("sources_to_targets") if isinstance(data, dict) else None
        if not _shaped(table, len(rows), len(cols)):
            raise self._bad_answer()
        km: list[list] = []
        sec: list[list] = []
        for line in table:
            km.append([])
            sec.append([])
            for cell in line:
                cell = cell if isinstance(cell, dict) else {}
                km[-1].append(_finite(cell.get("distance")))
                sec[-1].append(_finite(cell.get("time")))
        return km, sec


def _shaped(table: Any, rows: int, cols: int) -> bool:
    return (
        isinstance(table, list)
        and len(table) == rows
        and all(isinstance(line, list) and len(line) == cols for line in table)
    )

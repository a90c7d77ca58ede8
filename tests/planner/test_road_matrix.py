"""The road-network providers against stand-in servers on 127.0.0.1 that answer like
OSRM's /table/v1 and Valhalla's /sources_to_targets; an unreachable or broken server is
a clear Japanese error; and the setting is off by default (nothing is called)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from genchi.planning import (
    OsrmTable,
    RoutingError,
    StraightLine,
    ValhallaMatrix,
    parse_instance,
    solve,
)
from genchi.planning.cost import haversine_km

POINTS = [(35.6812, 139.7671), (35.6896, 139.7006), (35.7295, 139.7109), (35.6580, 139.7016)]


def road_km(a, b) -> float:
    """The stand-in's 'road': 1.4 × straight line, so the test can tell it from 1.3."""
    return float(haversine_km([a], [b])[0, 0]) * 1.4


class Standin(BaseHTTPRequestHandler):
    calls: list = []
    unreachable_pair: tuple[int, int] | None = None

    def log_message(self, *args):  # quiet
        pass

    def _json(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # OSRM: /table/v1/{profile}/{lng,lat;...}?sources=&destinations=
        parts = urllib.parse.urlsplit(self.path)
        segments = parts.path.split("/")
        if segments[1:4] != ["table", "v1", "driving"]:
            self._json(400, {"code": "InvalidUrl", "message": "bad path"})
            return
        coords = [tuple(float(v) for v in c.split(",")) for c in segments[4].split(";")]
        points = [(lat, lng) for lng, lat in coords]
        query = urllib.parse.parse_qs(parts.query)
        sources = [int(i) for i in query["sources"][0].split(";")]
        destinations = [int(i) for i in query["destinations"][0].split(";")]
        assert query["annotations"] == ["distance,duration"]
        type(self).calls.append(("osrm", len(sources), len(destinations)))
        distances = [[road_km(points[s], points[d]) * 1000 for d in destinations] for s in sources]
        durations = [[m / 1000 / 30 * 3600 for m in row] for row in distances]
        self._json(200, {"code": "Ok", "distances": distances, "durations": durations})

    def do_POST(self):  # Valhalla: /sources_to_targets
        if self.path != "/sources_to_targets":
            self._json(404, {"error": "not found"})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert body["units"] == "kilometers"
        type(self).calls.append(("valhalla", len(body["sources"]), len(body["targets"])))
        table = []
        for s in body["sources"]:
            row = []
            for t in body["targets"]:
                km = road_km((s["lat"], s["lon"]), (t["lat"], t["lon"]))
                row.append({"distance": km, "time": km / 30 * 3600})
            table.append(row)
        if type(self).unreachable_pair:
            i, j = type(self).unreachable_pair
            table[i][j] = {"distance": None, "time": None}
        self._json(200, {"sources_to_targets": table, "units": "kilometers"})


@pytest.fixture
def standin():
    Standin.calls = []
    Standin.unreachable_pair = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Standin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def expected():
    km = np.array([[road_km(a, b) for b in POINTS] for a in POINTS])
    minutes = np.ceil(np.round(km / 30 * 60, 6)).astype(int)
    return km, minutes


def test_osrm_table_gives_the_servers_matrix_in_blocks(standin):
    matrix = OsrmTable(standin, block=3).matrix(POINTS)
    km, minutes = expected()
    assert np.allclose(matrix.km, km, atol=1e-6)
    assert (matrix.minutes == minutes).all()
    # 4 points in blocks of 3: (3×3, 3×1, 1×3, 1×1)
    assert sorted(Standin.calls) == sorted(
        [("osrm", 3, 3), ("osrm", 3, 1), ("osrm", 1, 3), ("osrm", 1, 1)]
    )


def test_valhalla_matrix_gives_the_servers_matrix(standin):
    matrix = ValhallaMatrix(standin).matrix(POINTS)
    km, minutes = expected()
    assert np.allclose(matrix.km, km, atol=1e-6)
    assert (matrix.minutes == minutes).all()
    assert Standin.calls == [("valhalla", 4, 4)]


def test_a_pair_the_roads_cannot_join_gets_the_straight_line(standin):
    Standin.unreachable_pair = (0, 2)
    fallback = StraightLine(20.0, 1.3)
    matrix = ValhallaMatrix(standin, fallback=fallback).matrix(POINTS)
    straight = fallback.matrix(POINTS)
    assert matrix.km[0, 2] == pytest.approx(straight.km[0, 2])
    assert matrix.minutes[0, 2] == straight.minutes[0, 2]
    assert matrix.km[2, 0] == pytest.approx(road_km(POINTS[2], POINTS[0]))


def test_the_planner_plans_with_the_road_matrix(standin):
    instance = parse_instance(
        {
            "stops": [
                {"id": f"c{i}", "lat": lat, "lng": lng, "minutes": 20}
                for i, (lat, lng) in enumerate(POINTS[1:])
            ],
            "surveyors": [
                {
                    "id": "s1",
                    "lat": POINTS[0][0],
                    "lng": POINTS[0][1],
                    "days": [1],
                    "start": "09:00",
                    "end": "18:00",
                }
            ],
            "days": [1],
            "max_visits_per_day": 8,
            "speed_kmh": 30,
            "detour_factor": 1.3,
            "seconds": 1,
        }
    )
    plan = solve(instance, travel=OsrmTable(standin))
    route = plan.routes[0]
    order = [POINTS[0]] + [POINTS[int(s[1:]) + 1] for s in route.stops] + [POINTS[0]]
    by_road = sum(road_km(a, b) for a, b in zip(order, order[1:], strict=False))
    assert route.km == pytest.approx(by_road, abs=1e-3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("provider", [OsrmTable, ValhallaMatrix])
def test_an_unreachable_server_is_a_clear_error(provider):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RoutingError) as err:
        provider(url, timeout=2).matrix(POINTS)
    assert "経路計算サーバー" in str(err.value)
    assert "接続できません" in str(err.value)
    assert "GENCHI_ROUTING_URL" in str(err.value)


def test_a_server_answering_an_error_is_a_clear_error(standin):
    with pytest.raises(RoutingError) as err:
        OsrmTable(standin, profile="bicycle").matrix(POINTS)
    assert "HTTP 400" in str(err.value)
    assert "bad path" in str(err.value)


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(RoutingError, match="http://"):
        OsrmTable("file:///etc/passwd").matrix(POINTS)

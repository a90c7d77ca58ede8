"""Small planning instances for the tests: real places around Tokyo, a few far away."""

from __future__ import annotations

import copy
import math
import random
from typing import Any

# (lat, lng) of real places: bases and the centres stops are scattered around.
SHINJUKU = (35.6896, 139.6917)
SETAGAYA = (35.6433, 139.6712)
KAWAGUCHI = (35.8077, 139.7241)
OSAKA = (34.7025, 135.4959)
SENDAI = (38.2601, 140.8824)


def stop(sid: str, lat: float, lng: float, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "lat": lat, "lng": lng, "minutes": 15, **extra}


def surveyor(sid: str, place: tuple[float, float], days: list[int], **extra: Any) -> dict:
    return {
        "id": sid,
        "lat": place[0],
        "lng": place[1],
        "days": days,
        "start": "09:00",
        "end": "18:00",
        **extra,
    }


def instance(stops: list[dict], surveyors: list[dict], days: list[int], **extra: Any) -> dict:
    return {
        "stops": stops,
        "surveyors": surveyors,
        "days": days,
        "max_visits_per_day": 8,
        "speed_kmh": 25,
        "detour_factor": 1.3,
        "seconds": 2,
        **extra,
    }


def scatter(n: int, centre: tuple[float, float], km: float, seed: int, prefix: str) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        dlat = rng.uniform(-km, km) / 111.0
        dlng = rng.uniform(-km, km) / (111.0 * math.cos(math.radians(centre[0])))
        out.append(stop(f"{prefix}{i:03d}", centre[0] + dlat, centre[1] + dlng))
    return out


def mixed(seed: int = 1) -> dict:
    """Two surveyors, 14 days with weekends, revisits, windows, allowed days, a trip."""
    weekdays = [d for d in range(1, 15) if d % 7 not in (6, 0)]
    stops = scatter(30, SHINJUKU, 8, seed, "t") + scatter(4, OSAKA, 5, seed, "o")
    rng = random.Random(seed)
    for s in stops[:10]:
        s["visits"] = 2
        s["gap_days"] = 3
    stops[10]["earliest"], stops[10]["latest"] = "13:00", "15:00"
    stops[11]["days"] = [2, 3]
    stops[12]["minutes"] = 40
    for s in stops[13:16]:
        s["latest"] = "11:00"
    rng.shuffle(stops)
    return instance(
        stops,
        [
            surveyor("s1", SHINJUKU, weekdays + [6], end="20:00"),
            surveyor("s2", SETAGAYA, weekdays),
        ],
        list(range(1, 15)),
        weekend_days=[6, 7, 13, 14],
        evening_from="17:00",
    )


def clone(data: dict) -> dict:
    return copy.deepcopy(data)

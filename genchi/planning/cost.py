"""The cost model: how far and how long between two points.

Default (`StraightLine`): great-circle (haversine) distance × a detour factor is the
distance, and that distance ÷ a speed is the travel time, rounded up to whole minutes
(the planner schedules in minutes). A provider of real road figures (an OSRM or
Valhalla server the contractor runs) would implement the same `TravelProvider`
interface and be passed to `solve()`; see docs/planning.md. None is built in, so
nothing here ever calls out (D5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

EARTH_RADIUS_KM = 6371.0088
Point = tuple[float, float]  # (lat, lng) in degrees


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Distances (km, float) and travel times (whole minutes) between every pair."""

    km: np.ndarray
    minutes: np.ndarray

    def meters(self) -> np.ndarray:
        return np.rint(self.km * 1000).astype(np.uint32)


class TravelProvider(Protocol):
    """Anything that gives a travel matrix for a list of points (same order both ways)."""

    def matrix(self, points: Sequence[Point]) -> TravelMatrix: ...


def haversine_km(points_a: Sequence[Point], points_b: Sequence[Point]) -> np.ndarray:
    """Great-circle distances in km between each point of a and each point of b."""
    a = np.radians(np.asarray(points_a, dtype=float).reshape(-1, 2))
    b = np.radians(np.asarray(points_b, dtype=float).reshape(-1, 2))
    lat1, lng1 = a[:, 0:1], a[:, 1:2]
    lat2, lng2 = b[:, 0], b[:, 1]
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True, slots=True)
class StraightLine:
    """Straight-line distance × detour factor, at a constant speed."""

    speed_kmh: float
    detour_factor: float

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        km = haversine_km(points, points) * self.detour_factor
        return TravelMatrix(km=km, minutes=self.minutes_for(km))

    def leg(self, a: Point, b: Point) -> tuple[float, int]:
        km = float(haversine_km([a], [b])[0, 0]) * self.detour_factor
        return km, int(self.minutes_for(np.array([km]))[0])

    def minutes_for(self, km: np.ndarray) -> np.ndarray:
        # Rounded to a millionth of a minute first, so float noise (an exact number of
        # minutes, a point written with fewer decimals) does not add a minute.
        return np.ceil(np.round(km / self.speed_kmh * 60, 6)).clip(min=0).astype(np.int64)

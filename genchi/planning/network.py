"""The points of one planning problem and the travel between them.

Row k < len(surveyors) is surveyor k's base; row len(surveyors) + j is stop j. Trip
lodgings are placed at a stop of the trip, so they need no row of their own; the long
legs between a base and a lodging use the trip speed (`trip_model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genchi.planning.cost import StraightLine, TravelMatrix, TravelProvider
from genchi.planning.instance import Instance


def default_travel(instance: Instance) -> StraightLine:
    return StraightLine(instance.speed_kmh, instance.detour_factor)


def trip_model(instance: Instance) -> StraightLine:
    return StraightLine(instance.trip_speed_kmh, instance.trip_detour_factor)


@dataclass(slots=True)
class Network:
    instance: Instance
    travel: TravelMatrix
    meters: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.meters = self.travel.meters()

    @classmethod
    def build(cls, instance: Instance, provider: TravelProvider | None = None) -> Network:
        points = [(s.lat, s.lng) for s in instance.surveyors]
        points += [(s.lat, s.lng) for s in instance.stops]
        return cls(instance, (provider or default_travel(instance)).matrix(points))

    def base(self, k: int) -> int:
        return k

    def stop(self, j: int) -> int:
        return len(self.instance.surveyors) + j

    def minutes(self, a: int, b: int) -> int:
        return int(self.travel.minutes[a, b])

    def km(self, a: int, b: int) -> float:
        return float(self.travel.km[a, b])

    def trip_leg(self, k: int, lodging_stop: int) -> tuple[float, int]:
        """(km, minutes) of the long leg between surveyor k's base and a lodging."""
        sv = self.instance.surveyors[k]
        stop = self.instance.stops[lodging_stop]
        return trip_model(self.instance).leg((sv.lat, sv.lng), (stop.lat, stop.lng))

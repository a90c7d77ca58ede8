"""The plan: day routes, multi-day trips (出張), what could not be placed, and totals.

`Plan.to_dict()` gives the JSON format of docs/planning.md; `Plan.from_dict()` reads it
back (re-planning starts from a stored plan). Times are kept as minutes since midnight
and written as "HH:MM".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genchi.planning.instance import StopId, format_time, parse_time


@dataclass(frozen=True, slots=True)
class Route:
    """One surveyor's day: leave the base (or a trip's lodging), visit in order, return."""

    surveyor: StopId
    day: int
    stops: tuple[StopId, ...]
    times: tuple[int, ...]  # each visit's start, minutes since midnight
    depart: int
    back: int
    km: float
    travel_minutes: int
    visit_minutes: int
    trip: str | None = None

    @property
    def minutes(self) -> int:
        """Working time of the route: travel plus visits (waiting is not counted)."""
        return self.travel_minutes + self.visit_minutes

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "surveyor": self.surveyor,
            "day": self.day,
            "stops": list(self.stops),
            "km": round(self.km, 3),
            "minutes": self.minutes,
            "times": [format_time(t) for t in self.times],
            "depart": format_time(self.depart),
            "return": format_time(self.back),
            "travel_minutes": self.travel_minutes,
        }
        if self.trip is not None:
            out["trip"] = self.trip
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        minutes = int(data["minutes"])
        travel = int(data.get("travel_minutes", 0))
        return cls(
            surveyor=data["surveyor"],
            day=int(data["day"]),
            stops=tuple(data["stops"]),
            times=tuple(_time(t) for t in data.get("times", ())),
            depart=_time(data.get("depart", "00:00")),
            back=_time(data.get("return", "00:00")),
            km=float(data["km"]),
            travel_minutes=travel,
            visit_minutes=minutes - travel,
            trip=data.get("trip"),
        )


@dataclass(frozen=True, slots=True)
class Trip:
    """A 出張: consecutive days away, sleeping at a lodging near the trip's stops.

    `km` and `minutes` are the two long legs (base → lodging on the first day, lodging →
    base on the last); the day routes of the trip start and end at the lodging."""

    id: str
    surveyor: StopId
    days: tuple[int, ...]
    lodging: tuple[float, float]
    stops: tuple[StopId, ...]
    km: float
    minutes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "surveyor": self.surveyor,
            "days": list(self.days),
            "lodging": {"lat": self.lodging[0], "lng": self.lodging[1]},
            "stops": list(self.stops),
            "km": round(self.km, 3),
            "minutes": self.minutes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trip:
        return cls(
            id=str(data["id"]),
            surveyor=data["surveyor"],
            days=tuple(int(d) for d in data["days"]),
            lodging=(float(data["lodging"]["lat"]), float(data["lodging"]["lng"])),
            stops=tuple(data["stops"]),
            km=float(data["km"]),
            minutes=int(data["minutes"]),
        )


@dataclass(frozen=True, slots=True)
class Unassigned:
    id: StopId
    reason: str
    visits: int = 1  # how many of the stop's visits could not be placed

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "visits": self.visits}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Unassigned:
        return cls(id=data["id"], reason=str(data["reason"]), visits=int(data.get("visits", 1)))


@dataclass(slots=True)
class Plan:
    routes: list[Route] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)
    areas: dict[StopId, list[StopId]] = field(default_factory=dict)
    solver: str = ""
    seconds: float = 0.0

    def sort(self) -> Plan:
        self.routes.sort(key=lambda r: (str(r.surveyor), r.day))
        self.trips.sort(key=lambda t: (str(t.surveyor), t.days))
        self.unassigned.sort(key=lambda u: str(u.id))
        return self

    @property
    def km(self) -> float:
        return sum(r.km for r in self.routes) + sum(t.km for t in self.trips)

    @property
    def minutes(self) -> int:
        return sum(r.minutes for r in self.routes) + sum(t.minutes for t in self.trips)

    def totals(self) -> dict[str, Any]:
        per: dict[StopId, dict[str, Any]] = {}
        for r in self.routes:
            entry = per.setdefault(r.surveyor, {"days": 0, "visits": 0, "km": 0.0, "minutes": 0})
            entry["days"] += 1
            entry["visits"] += len(r.stops)
            entry["km"] += r.km
            entry["minutes"] += r.minutes
        for t in self.trips:
            entry = per.setdefault(t.surveyor, {"days": 0, "visits": 0, "km": 0.0, "minutes": 0})
            entry["km"] += t.km
            entry["minutes"] += t.minutes
        for entry in per.values():
            entry["km"] = round(entry["km"], 3)
        return {
            "km": round(self.km, 3),
            "minutes": self.minutes,
            "routes": len(self.routes),
            "trips": len(self.trips),
            "visits": sum(len(r.stops) for r in self.routes),
            "stops": len({s for r in self.routes for s in r.stops}),
            "unassigned": len(self.unassigned),
            "unassigned_visits": sum(u.visits for u in self.unassigned),
            "surveyors": {str(k): v for k, v in per.items()},
            "solver": self.solver,
            "seconds": round(self.seconds, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "routes": [r.to_dict() for r in self.routes],
            "trips": [t.to_dict() for t in self.trips],
            "unassigned": [u.to_dict() for u in self.unassigned],
            "totals": self.totals(),
        }
        if self.areas:
            out["areas"] = {str(k): list(v) for k, v in self.areas.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        totals = data.get("totals", {})
        return cls(
            routes=[Route.from_dict(r) for r in data.get("routes", ())],
            trips=[Trip.from_dict(t) for t in data.get("trips", ())],
            unassigned=[Unassigned.from_dict(u) for u in data.get("unassigned", ())],
            solver=str(totals.get("solver", "")),
        )


def _time(text: str) -> int:
    minute = parse_time(text)
    if minute is None:
        raise ValueError(f"not a time of day: {text!r}")
    return minute

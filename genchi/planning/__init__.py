"""Campaign and route planning for the survey: areas, trips (出張), days and routes.

Public API (plain Python, no Django, no network)::

    from genchi.planning import parse_instance, solve, check_plan

    instance = parse_instance(json.load(f))   # InstanceError lists bad fields by path
    plan = solve(instance)                    # within instance.seconds
    plan.to_dict()                            # {"routes", "trips", "unassigned", "totals", "areas"}
    check_plan(instance, plan)                # [] when every rule of the instance is kept

- `parse_instance(data) -> Instance`: validates the decoded JSON of docs/planning.md;
  `InstanceError.errors` holds each problem as a `FieldError(path, message)` with a
  Japanese message and a path such as ``stops[3].lat``.
- `solve(instance, travel=None) -> Plan`: proposes areas, groups far stops into trips,
  and plans each surveyor's days with the VROOM routing library (pyvroom). What cannot be
  placed is in `plan.unassigned` with the reason; it never raises on a valid instance.
- `propose_areas(instance) -> Areas`: the area proposal alone (`to_dict(instance)`).
- `replan(instance, plan, surveyor, from_day, locked=(), seconds=None) -> Plan`: plans
  one surveyor's remaining days again, keeping done and locked visits.
- `check_plan(instance, plan) -> list[str]`: every broken rule of a plan (empty when
  feasible); the tests and the benchmark check each plan with it.
- `TravelProvider`, `StraightLine`: the travel-time seam. The default is straight-line
  (haversine) distance × `detour_factor` ÷ `speed_kmh`. `OsrmTable(url)` and
  `ValhallaMatrix(url)` (roads.py) ask a road-network server the contractor runs, only
  when a caller passes one; `RoutingError` says in Japanese why a server gave no matrix.
"""

from __future__ import annotations

from genchi.planning.areas import Areas
from genchi.planning.campaign import propose_areas, replan, solve
from genchi.planning.check import check_plan
from genchi.planning.cost import StraightLine, TravelMatrix, TravelProvider, haversine_km
from genchi.planning.instance import (
    FieldError,
    Instance,
    InstanceError,
    Stop,
    Surveyor,
    parse_instance,
)
from genchi.planning.plan import Plan, Route, Trip, Unassigned
from genchi.planning.roads import OsrmTable, RoutingError, ValhallaMatrix

__all__ = [
    "Areas",
    "FieldError",
    "Instance",
    "InstanceError",
    "OsrmTable",
    "Plan",
    "Route",
    "RoutingError",
    "StraightLine",
    "Stop",
    "Surveyor",
    "TravelMatrix",
    "TravelProvider",
    "Trip",
    "Unassigned",
    "ValhallaMatrix",
    "check_plan",
    "haversine_km",
    "parse_instance",
    "propose_areas",
    "replan",
    "solve",
]

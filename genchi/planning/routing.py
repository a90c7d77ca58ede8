"""One call of the routing library (pyvroom, VROOM's Python binding) on a set of day routes.

The planner builds `Vehicle`s (one per surveyor-day, starting and ending at a base or a
trip's lodging, with that day's hours and the visits-per-day limit) and `Job`s (one per
visit, with its service minutes and the absolute time windows it may start in: day ×
1440 + minute of the day), and gets back each vehicle's visits in order with their start
times. Costs are metres of the travel matrix, so the library minimises total distance;
times are whole minutes. A job may be pinned to one vehicle (`vehicle`), which keeps a
visit planned in an earlier round on its day while the order around it is re-optimised.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import version
from typing import Any

import numpy as np
import vroom

MINUTES_PER_DAY = 1440
SOLVER_NAME = f"pyvroom {version('pyvroom')}"


@dataclass(slots=True)
class Vehicle:
    key: Any
    day: int
    start_loc: int
    end_loc: int
    start: int  # minutes since midnight
    end: int
    capacity: int
    fixed_cost: int = 0  # metres a vehicle costs when used: fewer, fuller days


@dataclass(slots=True)
class Job:
    key: Any
    loc: int
    service: int
    windows: list[tuple[int, int]]  # absolute minutes, sorted, disjoint
    vehicle: int | None = None  # index into the vehicles list when pinned


@dataclass(slots=True)
class Solution:
    # vehicle index → [(job index, absolute start minute)] in visiting order
    routes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    unassigned: list[int] = field(default_factory=list)
    cost: int = 0  # metres

    def score(self, priorities: Sequence[int] | None) -> tuple[int, int, int]:
        """Lower is better: priority left out, visits left out, then metres."""
        lost = sum(priorities[i] for i in self.unassigned) if priorities else 0
        return (lost, len(self.unassigned), self.cost)


# How much longer than level 0 each exploration level takes (measured on one surveyor's
# campaign, 40–130 visits on 40 days; docs/planning.md).
LEVEL_COST = {1: 2.0, 2: 4.5, 3: 9.0, 5: 30.0}


def solve_within(
    meters: np.ndarray,
    minutes: np.ndarray,
    locations: Sequence[int],
    vehicles: Sequence[Vehicle],
    jobs: Sequence[Job],
    *,
    seconds: float,
    priorities: Sequence[int] | None = None,
) -> Solution:
    """Solve at exploration level 0, then, if the time left allows, once more at the
    highest level expected to finish within it; keep the better of the two."""
    started = time.perf_counter()
    args = (meters, minutes, locations, vehicles, jobs)
    best = solve(*args, seconds=seconds, level=0, priorities=priorities)
    took = max(time.perf_counter() - started, 1e-3)
    left = seconds - (time.perf_counter() - started)
    level = max((lv for lv, f in LEVEL_COST.items() if took * f <= left), default=None)
    if level is None or not best.routes:
        return best
    again = solve(*args, seconds=left, level=level, priorities=priorities)
    return again if again.score(priorities) < best.score(priorities) else best


def solve(
    meters: np.ndarray,
    minutes: np.ndarray,
    locations: Sequence[int],
    vehicles: Sequence[Vehicle],
    jobs: Sequence[Job],
    *,
    seconds: float,
    level: int = 1,
    priorities: Sequence[int] | None = None,
    skills: tuple[Sequence[set[int]], Sequence[int]] | None = None,
) -> Solution:
    """Route `jobs` on `vehicles`; `locations` are the matrix rows the problem uses.
    `skills`: (each vehicle's skills, each job's one required skill), for jobs that only
    some vehicles may take (not with pinned jobs)."""
    result = Solution()
    if not jobs:
        return result
    if not vehicles:
        result.unassigned = list(range(len(jobs)))
        return result
    rows = list(dict.fromkeys(locations))
    position = {row: i for i, row in enumerate(rows)}
    sub = np.ix_(rows, rows)
    problem = vroom.Input()
    problem.set_durations_matrix("car", minutes[sub].astype(np.uint32))
    problem.set_costs_matrix("car", meters[sub].astype(np.uint32))
    pinned = {job.vehicle for job in jobs if job.vehicle is not None}
    for i, v in enumerate(vehicles):
        # Given skills say who may take which job; else a pinned job's skill is its vehicle.
        pinning = {i + 1} if pinned else None
        vehicle_skills = skills[0][i] if skills else pinning
        base = v.day * MINUTES_PER_DAY
        problem.add_vehicle(
            vroom.Vehicle(
                id=i,
                start=position[v.start_loc],
                end=position[v.end_loc],
                time_window=vroom.TimeWindow(base + v.start, base + v.end),
                max_tasks=v.capacity,
                skills=vehicle_skills,
                costs=vroom.VehicleCosts(fixed=v.fixed_cost),
            )
        )
    feasible = []
    for j, job in enumerate(jobs):
        if not job.windows:
            result.unassigned.append(j)
            continue
        feasible.append(j)
        if skills:
            job_skills = {skills[1][j]}
        else:
            job_skills = {job.vehicle + 1} if job.vehicle is not None else None
        problem.add_job(
            vroom.Job(
                id=j,
                location=position[job.loc],
                default_service=job.service,
                time_windows=[vroom.TimeWindow(a, b) for a, b in job.windows],
                skills=job_skills,
                priority=priorities[j] if priorities else 0,
            )
        )
    if not feasible:
        return result
    solution = problem.solve(
        exploration_level=level,
        nb_threads=1,
        timeout=timedelta(seconds=max(0.05, seconds)),
    ).to_dict()
    result.cost = int(solution.get("summary", {}).get("cost", 0))
    for route in solution.get("routes", ()):
        steps = [
            (int(step["id"]), int(step["arrival"]) + int(step.get("waiting_time", 0)))
            for step in route["steps"]
            if step["type"] == "job"
        ]
        if steps:
            result.routes[int(route["vehicle"])] = steps
    result.unassigned.extend(int(u["id"]) for u in solution.get("unassigned", ()))
    return result

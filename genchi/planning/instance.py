"""The planning instance: its types and the validation that turns JSON into them.

`parse_instance(data)` takes the decoded JSON (a dict) and returns an `Instance`, or
raises `InstanceError` listing every problem with its field path (``stops[3].lat``).
Times of day are kept as minutes since midnight; days are the campaign's day numbers.
The JSON format is specified in docs/planning.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from genchi.planning._messages import _

StopId = str | int

DAY = "day"
EVENING = "evening"
WEEKEND = "weekend"

MAX_DAY = 3660  # ten years of day numbers: anything larger is a typo
MAX_SECONDS = 3600.0
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class DoneVisit:
    """A visit already made (or kept from an earlier plan): its day and clock minute."""

    day: int
    minute: int


@dataclass(frozen=True, slots=True)
class Stop:
    id: StopId
    lat: float
    lng: float
    minutes: int
    earliest: int | None = None
    latest: int | None = None
    days: frozenset[int] | None = None
    visits: int = 1
    gap_days: int = 7
    other_time: bool = True
    surveyor: StopId | None = None
    done: tuple[DoneVisit, ...] = ()
    fixed_day: int | None = None

    @property
    def remaining(self) -> int:
        """Visits still to plan."""
        return max(0, self.visits - len(self.done))


@dataclass(frozen=True, slots=True)
class Surveyor:
    id: StopId
    lat: float
    lng: float
    days: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Instance:
    stops: tuple[Stop, ...]
    surveyors: tuple[Surveyor, ...]
    days: tuple[int, ...]
    max_visits_per_day: int
    speed_kmh: float
    detour_factor: float
    seconds: float
    evening_from: int = 17 * 60
    weekend_days: frozenset[int] = frozenset()
    expected_revisits: float = 0.0
    trip_after_minutes: int = 180
    trip_speed_kmh: float = 150.0
    trip_detour_factor: float = 1.2
    trip_radius_km: float = 30.0
    trip_max_days: int = 5
    balance: float = 0.15
    _stop_index: dict[StopId, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._stop_index.update({s.id: i for i, s in enumerate(self.stops)})

    def stop(self, stop_id: StopId) -> Stop:
        return self.stops[self._stop_index[stop_id]]

    def has_stop(self, stop_id: StopId) -> bool:
        return stop_id in self._stop_index

    def surveyor(self, surveyor_id: StopId) -> Surveyor:
        for s in self.surveyors:
            if s.id == surveyor_id:
                return s
        raise KeyError(surveyor_id)

    def time_class(self, day: int, minute: int) -> str:
        """Which "time" a visit counts as for the revisit rule: weekend, evening or day."""
        if day in self.weekend_days:
            return WEEKEND
        return EVENING if minute >= self.evening_from else DAY

    def class_windows(self, day: int, start: int, end: int) -> dict[str, tuple[int, int]]:
        """The clock intervals [a, b] of each time class on `day` within start–end."""
        if day in self.weekend_days:
            return {WEEKEND: (start, end)}
        out = {}
        if start < self.evening_from:
            out[DAY] = (start, min(end, self.evening_from - 1))
        if end >= self.evening_from:
            out[EVENING] = (max(start, self.evening_from), end)
        return out


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InstanceError(ValueError):
    """A malformed instance; `errors` lists each problem with its field path."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def format_time(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_time(text: str) -> int | None:
    """ "09:00" → 540; None when it is not a time of day (24:00 is the day's end)."""
    match = _TIME_RE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


class _Reader:
    """Reads typed values out of decoded JSON, collecting errors with their paths."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def get(self, obj: dict, key: str, path: str, required: bool) -> Any:
        if key in obj and obj[key] is not None:
            return obj[key]
        if required:
            self.fail(path, _("必須の項目です。"))
        return None

    def number(self, obj, key, path, *, low=None, high=None, required=True, integer=False):
        value = self.get(obj, key, path, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(
                path, _("整数で指定してください。") if integer else _("数値で指定してください。")
            )
            return None
        if integer and isinstance(value, float):
            if not value.is_integer():
                self.fail(path, _("整数で指定してください。"))
                return None
            value = int(value)
        if not math.isfinite(value):
            self.fail(path, _("有限の数値で指定してください。"))
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(
                path,
                _("%(low)s 以上 %(high)s 以下で指定してください。") % {"low": low, "high": high},
            )
            return None
        return value

    def identifier(self, obj, key, path, required=True) -> StopId | None:
        value = self.get(obj, key, path, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            self.fail(path, _("空でない文字列か整数で指定してください。"))
            return None
        return value

    def time(self, obj, key, path, required=True) -> int | None:
        value = self.get(obj, key, path, required)
        if value is None:
            return None
        minute = parse_time(value)
        if minute is None:
            self.fail(path, _("時刻は「09:00」の形(00:00〜24:00)で指定してください。"))
        return minute

    def boolean(self, obj, key, path) -> bool | None:
        value = self.get(obj, key, path, False)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(path, _("true か false で指定してください。"))
            return None
        return value

    def items(self, obj, key, path, *, required=True, nonempty=True) -> list | None:
        value = self.get(obj, key, path, required)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(path, _("一覧([…])で指定してください。"))
            return None
        if nonempty and not value:
            self.fail(path, _("空ではない一覧で指定してください。"))
            return None
        return value

    def objects(self, obj, key, path, required=True) -> list[tuple[str, dict]]:
        out = []
        values = self.items(obj, key, path, required=required, nonempty=required)
        for i, item in enumerate(values or ()):
            if isinstance(item, dict):
                out.append((f"{path}[{i}]", item))
            else:
                self.fail(f"{path}[{i}]", _("オブジェクト({…})で指定してください。"))
        return out

    def day_list(self, obj, key, path, allowed: frozenset[int] | None, required=True):
        values = self.items(obj, key, path, required=required)
        if values is None:
            return None
        days = []
        for i, value in enumerate(values):
            day = self.number({"d": value}, "d", f"{path}[{i}]", low=1, high=MAX_DAY, integer=True)
            if day is None:
                continue
            if allowed is not None and day not in allowed:
                self.fail(f"{path}[{i}]", _("調査期間(days)に含まれない日です。"))
                continue
            days.append(day)
        return sorted(set(days))

    def point(self, obj, path) -> tuple[float | None, float | None]:
        lat = self.number(obj, "lat", f"{path}.lat", low=-90, high=90)
        lng = self.number(obj, "lng", f"{path}.lng", low=-180, high=180)
        if lat == 0 and lng == 0:
            self.fail(
                f"{path}.lat",
                _("緯度経度が (0, 0) です。位置が求められていない住所の可能性があります。"),
            )
            return None, None
        return lat, lng


def parse_instance(data: Any) -> Instance:
    """Validate decoded JSON and build an `Instance`; raises `InstanceError`."""
    r = _Reader()
    if not isinstance(data, dict):
        raise InstanceError(
            [FieldError("", _("インスタンスは JSON オブジェクト({…})で指定してください。"))]
        )

    days = r.day_list(data, "days", "days", None)
    day_set = frozenset(days) if days else None
    max_visits = r.number(
        data, "max_visits_per_day", "max_visits_per_day", low=1, high=100, integer=True
    )
    speed = r.number(data, "speed_kmh", "speed_kmh", low=1, high=300)
    detour = r.number(data, "detour_factor", "detour_factor", low=1, high=5)
    seconds = r.number(data, "seconds", "seconds", low=0.1, high=MAX_SECONDS)
    options: dict[str, Any] = {}
    evening = r.time(data, "evening_from", "evening_from", required=False)
    if evening is not None:
        options["evening_from"] = evening
    weekend = r.day_list(data, "weekend_days", "weekend_days", None, required=False)
    if weekend is not None:
        options["weekend_days"] = frozenset(weekend)
    for key, low, high, integer in (
        ("expected_revisits", 0, 10, False),
        ("trip_after_minutes", 10, 1440, True),
        ("trip_speed_kmh", 1, 1000, False),
        ("trip_detour_factor", 1, 5, False),
        ("trip_radius_km", 1, 500, False),
        ("trip_max_days", 1, 31, True),
        ("balance", 0, 1, False),
    ):
        value = r.number(data, key, key, low=low, high=high, required=False, integer=integer)
        if value is not None:
            options[key] = value

    surveyors: list[Surveyor] = []
    seen: set[StopId] = set()
    for path, item in r.objects(data, "surveyors", "surveyors"):
        sid = r.identifier(item, "id", f"{path}.id")
        if sid is not None and sid in seen:
            r.fail(f"{path}.id", _("ID「%(id)s」が重複しています。") % {"id": sid})
        seen.add(sid)
        lat, lng = r.point(item, path)
        sdays = r.day_list(item, "days", f"{path}.days", day_set)
        start = r.time(item, "start", f"{path}.start")
        end = r.time(item, "end", f"{path}.end")
        if start is not None and end is not None and end <= start:
            r.fail(f"{path}.end", _("終了時刻は開始時刻より後にしてください。"))
            continue
        if None not in (sid, lat, lng, sdays, start, end):
            surveyors.append(Surveyor(sid, float(lat), float(lng), tuple(sdays), start, end))
    surveyor_ids = {s.id for s in surveyors} | seen

    stops: list[Stop] = []
    seen = set()
    for path, item in r.objects(data, "stops", "stops"):
        stop = _parse_stop(r, item, path, day_set, surveyor_ids)
        if stop is None:
            continue
        if stop.id in seen:
            r.fail(f"{path}.id", _("ID「%(id)s」が重複しています。") % {"id": stop.id})
        seen.add(stop.id)
        stops.append(stop)

    if r.errors:
        raise InstanceError(r.errors)
    return Instance(
        stops=tuple(stops),
        surveyors=tuple(surveyors),
        days=tuple(days),
        max_visits_per_day=max_visits,
        speed_kmh=float(speed),
        detour_factor=float(detour),
        seconds=float(seconds),
        **options,
    )


def _parse_stop(r: _Reader, item: dict, path: str, day_set, surveyor_ids) -> Stop | None:
    sid = r.identifier(item, "id", f"{path}.id")
    lat, lng = r.point(item, path)
    minutes = r.number(item, "minutes", f"{path}.minutes", low=1, high=720)
    earliest = r.time(item, "earliest", f"{path}.earliest", required=False)
    latest = r.time(item, "latest", f"{path}.latest", required=False)
    if earliest is not None and latest is not None and latest < earliest:
        r.fail(f"{path}.latest", _("latest は earliest 以降の時刻にしてください。"))
    days = r.day_list(item, "days", f"{path}.days", day_set, required=False)
    visits = r.number(
        item, "visits", f"{path}.visits", low=1, high=10, required=False, integer=True
    )
    gap = r.number(
        item, "gap_days", f"{path}.gap_days", low=0, high=365, required=False, integer=True
    )
    other_time = r.boolean(item, "other_time", f"{path}.other_time")
    surveyor = r.identifier(item, "surveyor", f"{path}.surveyor", required=False)
    if surveyor is not None and surveyor not in surveyor_ids:
        r.fail(
            f"{path}.surveyor", _("調査員「%(id)s」は surveyors にありません。") % {"id": surveyor}
        )
    fixed_day = r.number(
        item, "fixed_day", f"{path}.fixed_day", low=1, high=MAX_DAY, required=False, integer=True
    )
    if fixed_day is not None and day_set is not None and fixed_day not in day_set:
        r.fail(f"{path}.fixed_day", _("調査期間(days)に含まれない日です。"))
    done = []
    for dpath, visit in r.objects(item, "done", f"{path}.done", required=False):
        day = r.number(visit, "day", f"{dpath}.day", low=1, high=MAX_DAY, integer=True)
        minute = r.time(visit, "time", f"{dpath}.time")
        if day is not None and minute is not None:
            done.append(DoneVisit(day, minute))
    if None in (sid, lat, lng, minutes):
        return None
    return Stop(
        id=sid,
        lat=float(lat),
        lng=float(lng),
        minutes=math.ceil(minutes),
        earliest=earliest,
        latest=latest,
        days=frozenset(days) if days is not None else None,
        visits=visits or 1,
        gap_days=7 if gap is None else gap,
        other_time=True if other_time is None else other_time,
        surveyor=surveyor,
        done=tuple(sorted(done, key=lambda v: (v.day, v.minute))),
        fixed_day=fixed_day,
    )

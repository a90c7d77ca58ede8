"""From a contract's campaign settings, cases and bases to the planner's instance.

- `calendar(campaign)`: the survey period as the library's day numbers: day 1 is the
  period's first date, day n the date n − 1 days later; the working days are the chosen
  weekdays, less Japanese national holidays when `skip_holidays` (the `jpholiday`
  library); a working day on a Saturday, Sunday or holiday counts as *weekend* for the
  revisit rule.
- `build_instance(campaign, cases, bases, surveyors)`: the instance of docs/planning.md.
  A case's confirmed surveyor is kept as the stop's `surveyor`; a case without a usable
  position is left out and listed with the reason; done visits recorded in the previous
  plan are carried over (moved to the new day numbers).
- `travel_provider(campaign)`: the road-network server of the settings, or None
  (straight line) — the only place that decides whether the planner calls out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import jpholiday
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from genchi.geo.maps import valid_point
from genchi.planning import OsrmTable, StraightLine, ValhallaMatrix
from genchi.planning.instance import MAX_DAY


@dataclass(frozen=True)
class TravelMode:
    """Door-to-door travel of a surveyor: an average speed and a detour factor (road or
    track distance ÷ straight-line distance), and the road engines' profile names."""

    speed_kmh: float
    detour_factor: float
    osrm_profile: str | None
    valhalla_costing: str | None


# docs/planning.md explains the figures. Train + walk is planned on the straight line even
# when a road server is set: OSRM and Valhalla's road profiles do not know trains.
TRAVEL_MODES: dict[str, TravelMode] = {
    "car": TravelMode(25.0, 1.3, "driving", "auto"),
    "train_walk": TravelMode(18.0, 1.2, None, None),
}

WEEKDAY_NAMES = ("月", "火", "水", "木", "金", "土", "日")

DONE_STATUSES = ("done", "reported")


@dataclass
class Calendar:
    first_day: dt.date
    last_day: dt.date
    days: list[int] = field(default_factory=list)  # working day numbers
    weekend_days: list[int] = field(default_factory=list)
    holidays: list[tuple[dt.date, str]] = field(default_factory=list)  # skipped ones

    def date_of(self, day: int) -> dt.date:
        return self.first_day + dt.timedelta(days=day - 1)

    def day_of(self, date: dt.date) -> int:
        return (date - self.first_day).days + 1


def holidays_between(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Japanese national holidays (国民の祝日, 振替休日, 国民の休日) from start to end."""
    return {day: name for day, name in jpholiday.between(start, end)}


def calendar(campaign) -> Calendar:
    holidays = holidays_between(campaign.starts_on, campaign.ends_on)
    cal = Calendar(first_day=campaign.starts_on, last_day=campaign.ends_on)
    weekdays = {int(w) for w in campaign.weekdays}
    date = campaign.starts_on
    while date <= campaign.ends_on:
        day = cal.day_of(date)
        if date.weekday() in weekdays:
            if date in holidays and campaign.skip_holidays:
                cal.holidays.append((date, holidays[date]))
            else:
                cal.days.append(day)
                if date.weekday() >= 5 or date in holidays:
                    cal.weekend_days.append(day)
        date += dt.timedelta(days=1)
    return cal


def surveyor_days(
    cal: Calendar, designated_on: dt.date | None, from_date: dt.date | None = None
) -> list[int]:
    """A surveyor's working days: the campaign's, from the later of the date their
    designation started and `from_date`."""
    first = max(d for d in (cal.first_day, designated_on, from_date) if d is not None)
    return [d for d in cal.days if cal.date_of(d) >= first]


def hhmm(value: dt.time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def day_end(value: dt.time) -> str:
    """The end of the working day; 00:00 as an end means midnight (24:00)."""
    return "24:00" if value == dt.time(0, 0) else hhmm(value)


@dataclass
class Built:
    """An instance ready for the planner, what was left out, and the calendar."""

    instance: dict[str, Any]
    excluded: list[dict[str, str]]
    calendar: Calendar
    problems: list[str]  # why no instance can be made (no base, no surveyor, no day)


def build_instance(
    campaign,
    cases: list,
    *,
    surveyors: list,
    bases: dict[int | None, tuple[float, float]],
    previous: dict | None = None,
    previous_first_day: dt.date | None = None,
    from_date: dt.date | None = None,
) -> Built:
    """`cases`: SurveyCase rows (decrypted on read); `surveyors`: the designated people;
    `bases`: person id (None: the office) → (lat, lng); `previous`: the current plan's
    instance, whose done visits and visit counts are carried over; `from_date`: plan the
    days from this date on (today: no visit is planned in the past)."""
    cal = calendar(campaign)
    work_days = cal.days
    if from_date is not None:
        work_days = [d for d in cal.days if d >= cal.day_of(from_date)]
    mode = TRAVEL_MODES[campaign.travel]
    problems: list[str] = []
    excluded: list[dict[str, str]] = []
    if not cal.days:
        problems.append(_("調査期間に稼働日がありません。曜日と期間を確かめてください。"))
    elif not work_days:
        problems.append(_("調査期間の稼働日はすべて過ぎています。期間を確かめてください。"))
    if cal.days and cal.days[-1] > MAX_DAY:
        problems.append(_("調査期間が長すぎます(10年以内にしてください)。"))
    if not surveyors:
        problems.append(_("この契約に指定された調査員がいません。"))
    people = []
    for person in surveyors:
        base = bases.get(person.pk) or bases.get(None)
        if base is None:
            problems.append(
                _("調査員 %(name)s の拠点も事務所の拠点も登録されていません。")
                % {"name": str(person)}
            )
            continue
        people.append(
            {
                "id": person.pk,
                "lat": base[0],
                "lng": base[1],
                "days": work_days,
                "start": hhmm(campaign.day_starts_at),
                "end": day_end(campaign.day_ends_at),
            }
        )
    known = {p["id"] for p in people}
    carried = _carried(previous, previous_first_day, cal)
    stops = []
    for case in cases:
        if case.status in DONE_STATUSES:
            continue
        point = valid_point(case.lat, case.lng)
        if point is None or point == (0.0, 0.0):
            excluded.append(
                {"ref": case.case_ref, "reason": _("住所の位置(緯度経度)が求められていません。")}
            )
            continue
        if case.surveyor_id is not None and case.surveyor_id not in known:
            excluded.append(
                {
                    "ref": case.case_ref,
                    "reason": _("担当の調査員がこの契約の調査員に指定されていません。"),
                }
            )
            continue
        stop: dict[str, Any] = {
            "id": case.case_ref,
            "lat": round(point[0], 6),
            "lng": round(point[1], 6),
            "minutes": campaign.visit_minutes,
            "visits": campaign.visits_per_case,
            "gap_days": campaign.gap_days,
            "other_time": campaign.other_time,
        }
        if case.surveyor_id is not None:
            stop["surveyor"] = case.surveyor_id
        stop.update(carried.get(case.case_ref, {}))
        stops.append(stop)
    if not stops and not problems:
        problems.append(_("計画できる案件がありません。"))
    instance = {
        "stops": stops,
        "surveyors": people,
        "days": cal.days,
        "max_visits_per_day": campaign.visits_per_day,
        "speed_kmh": mode.speed_kmh,
        "detour_factor": mode.detour_factor,
        "evening_from": hhmm(campaign.evening_from),
        "expected_revisits": float(campaign.expected_revisits),
        "seconds": float(campaign.seconds),
    }
    if cal.weekend_days:  # the planner refuses an empty list
        instance["weekend_days"] = cal.weekend_days
    return Built(instance=instance, excluded=excluded, calendar=cal, problems=problems)


def _carried(previous: dict | None, first_day: dt.date | None, cal: Calendar) -> dict:
    """Done visits (and the visits they still need) of the previous plan's stops, moved
    to this calendar's day numbers; visits before the new period are dropped."""
    if not previous or first_day is None:
        return {}
    shift = (first_day - cal.first_day).days
    out: dict[str, dict] = {}
    for stop in previous.get("stops", ()):
        done = [
            {"day": v["day"] + shift, "time": v["time"]}
            for v in stop.get("done", ())
            if v["day"] + shift >= 1
        ]
        if done:
            out[stop["id"]] = {
                "done": done,
                "visits": max(len(done), min(10, int(stop.get("visits", 1)))),
            }
    return out


def travel_provider(campaign):
    """The road-network provider of the settings for this campaign's travel mode, or None
    (straight line). Raises ImproperlyConfigured, in Japanese, for a wrong setting."""
    engine = settings.GENCHI_ROUTING_ENGINE
    url = settings.GENCHI_ROUTING_URL
    if not engine:
        return None
    mode = TRAVEL_MODES[campaign.travel]
    if engine not in ("osrm", "valhalla"):
        raise ImproperlyConfigured(
            _("GENCHI_ROUTING_ENGINE は osrm か valhalla にしてください(指定: %(engine)s)。")
            % {"engine": engine}
        )
    if not url:
        raise ImproperlyConfigured(
            _("GENCHI_ROUTING_ENGINE を使うには GENCHI_ROUTING_URL も指定してください。")
        )
    fallback = StraightLine(mode.speed_kmh, mode.detour_factor)
    timeout = settings.GENCHI_ROUTING_TIMEOUT_SECONDS
    if engine == "osrm" and mode.osrm_profile:
        return OsrmTable(url, timeout=timeout, fallback=fallback, profile=mode.osrm_profile)
    if engine == "valhalla" and mode.valhalla_costing:
        return ValhallaMatrix(
            url, timeout=timeout, fallback=fallback, costing=mode.valhalla_costing
        )
    return None

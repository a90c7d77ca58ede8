"""Field checks on visits sent from a tablet (issue 16 item 8): flags the office reviewer
sees on the visit, never blocks. Computed on the server from what the device sent:

- distance between the position at the visit and the case's geocoded address, flagged
  beyond `GENCHI_TABLET_DISTANCE_FLAG_M` (default 150 m);
- speed from the surveyor's previous tablet visit, flagged above
  `GENCHI_TABLET_MAX_SPEED_KMH` (default 60 km/h: faster than a surveyor moves in town);
- time on site (the visit form opened → saved), flagged below
  `GENCHI_TABLET_MIN_SECONDS_ON_SITE` (default 60 s);
- photos the same as another case's (fieldwork's perceptual-hash check, reused).

A browser cannot prove a position is real (no mock-location API): docs/security.md.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.utils.translation import gettext as _

from .models import FieldCheck, Upload

EARTH_RADIUS_M = 6_371_000


def distance_flag_m() -> int:
    return int(getattr(settings, "GENCHI_TABLET_DISTANCE_FLAG_M", 150))


def max_speed_kmh() -> float:
    return float(getattr(settings, "GENCHI_TABLET_MAX_SPEED_KMH", 60))


def min_seconds_on_site() -> int:
    return int(getattr(settings, "GENCHI_TABLET_MIN_SECONDS_ON_SITE", 60))


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine), good to a metre at these distances."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def _point(lat, lng) -> tuple[float, float] | None:
    try:
        return (float(lat), float(lng)) if lat and lng else None
    except (TypeError, ValueError):
        return None


def check_visit(upload: Upload, visit, case) -> FieldCheck:
    """Measure a visit just recorded from `upload` (in the transaction that records it)."""
    here = _point(visit.lat, visit.lng)
    target = _point(case.lat, case.lng)
    check = FieldCheck(upload=upload)
    if here and target:
        check.distance_m = round(metres_between(here, target))
    previous = (
        Upload.objects.filter(
            device__surveyor_id=upload.device.surveyor_id, state=Upload.State.RECORDED
        )
        .exclude(pk=upload.pk)
        .exclude(visit__isnull=True)
        .filter(visit__visited_at__lte=visit.visited_at)
        .select_related("visit")
        .order_by("-visit__visited_at", "-pk")
        .first()
    )
    if previous is not None and here:
        before = _point(previous.visit.lat, previous.visit.lng)
        hours = (visit.visited_at - previous.visit.visited_at).total_seconds() / 3600
        if before:
            km = metres_between(before, here) / 1000
            check.previous_ref = previous.case_ref
            # Two visits at the same second: as fast as the distance makes it.
            check.speed_kmh = round(km / max(hours, 1 / 3600), 1)
    if upload.arrived_at is not None:
        check.seconds_on_site = max(0, int((visit.visited_at - upload.arrived_at).total_seconds()))
    check.duplicate_photos = visit.photos.filter(duplicate_of__isnull=False).count()
    check.save()
    return check


def notes(check: FieldCheck) -> list[dict]:
    """What the reviewer reads: each measure, flagged or not."""
    out = []
    if check.distance_m is not None:
        limit = distance_flag_m()
        out.append(
            {
                "text": _("案件の住所からの距離: %(m)s m(基準 %(limit)s m)")
                % {"m": check.distance_m, "limit": limit},
                "flagged": check.distance_m > limit,
            }
        )
    else:
        out.append({"text": _("訪問時の位置がないため、距離を確かめられません。"), "flagged": True})
    if check.speed_kmh is not None:
        limit = max_speed_kmh()
        out.append(
            {
                "text": _("前の訪問(%(ref)s)からの移動速度: 時速 %(kmh)s km(上限 %(limit)s km)")
                % {"ref": check.previous_ref, "kmh": check.speed_kmh, "limit": f"{limit:g}"},
                "flagged": check.speed_kmh > limit,
            }
        )
    if check.seconds_on_site is not None:
        limit = min_seconds_on_site()
        out.append(
            {
                "text": _("現地での時間: %(s)s 秒(最短 %(min)s 秒)")
                % {"s": check.seconds_on_site, "min": limit},
                "flagged": check.seconds_on_site < limit,
            }
        )
    if check.duplicate_photos:
        out.append(
            {
                "text": _("別の案件の写真と同じ画像: %(n)s 枚") % {"n": check.duplicate_photos},
                "flagged": True,
            }
        )
    return out


def flags_for_visits(visits: list) -> dict[int, list[dict]]:
    """fieldwork's hook (`fieldwork.visit_flags`): the checks of the visits sent from a
    tablet, by visit."""
    found = FieldCheck.objects.filter(upload__visit_id__in=[v.pk for v in visits]).select_related(
        "upload"
    )
    return {check.upload.visit_id: notes(check) for check in found}

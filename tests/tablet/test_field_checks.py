"""Field checks (issue 16 item 8): flags the office reviewer sees on a visit sent from a
tablet, never blocks: distance to the geocoded address, speed between visits, time on
site, photos the same as another case's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.fieldwork import selectors as fieldwork
from genchi.tablet import checks
from genchi.tablet.models import FieldCheck
from tests.fieldwork.visits import photo_with_metadata
from tests.tablet.test_sync_up import ready, send_visit

pytestmark = pytest.mark.django_db


def at(case, north_m: float = 0.0) -> tuple[str, str]:
    """A position `north_m` metres north of the case's geocoded address."""
    return f"{float(case.lat) + north_m / 111_195:.6f}", case.lng


def send(tablet, case, *, when, north_m=0.0, on_site_s=300, photos=()):
    lat, lng = at(case, north_m)
    visited = timezone.localtime(when).replace(second=0, microsecond=0)  # as the form posts
    answer, visit, _ids = send_visit(
        tablet,
        case.case_ref,
        list(photos),
        visited_at=visited,
        lat=lat,
        lng=lng,
        arrived=visited - dt.timedelta(seconds=on_site_s),
    )
    assert answer["state"] == "recorded", answer
    return FieldCheck.objects.get(upload__client_id=visit)


def test_distance_speed_and_time_on_site_are_measured_and_flagged(
    enrolled, people, assigned, settings
):
    settings.GENCHI_TABLET_DISTANCE_FLAG_M = 150
    settings.GENCHI_TABLET_MAX_SPEED_KMH = 60
    settings.GENCHI_TABLET_MIN_SECONDS_ON_SITE = 60
    tablet = ready(enrolled, people)
    first, second = assigned["mine"]
    start = timezone.now() - dt.timedelta(minutes=9)  # cases were received just now
    near = send(tablet, first, when=start, north_m=40)
    assert 38 <= near.distance_m <= 42 and near.speed_kmh is None
    assert near.seconds_on_site == 300
    assert not [n for n in checks.notes(near) if n["flagged"]]
    # Nine minutes later at the second case, 300 m off its address, 20 s on site.
    far = send(tablet, second, when=start + dt.timedelta(minutes=9), north_m=300, on_site_s=20)
    assert 298 <= far.distance_m <= 302
    gap_km = (
        checks.metres_between(tuple(map(float, at(first, 40))), tuple(map(float, at(second, 300))))
        / 1000
    )
    assert far.speed_kmh == round(gap_km * 60 / 9, 1)  # km in 9 minutes
    assert far.previous_ref == first.case_ref
    flagged = [n["text"] for n in checks.notes(far) if n["flagged"]]
    assert any(f"距離: {far.distance_m} m" in t for t in flagged)
    assert any("現地での時間: 20 秒" in t for t in flagged)
    assert 30 < far.speed_kmh < 60 and not any("速度" in t for t in flagged)
    # The limits are settings, read when the reviewer looks.
    settings.GENCHI_TABLET_MAX_SPEED_KMH = 30
    assert any("速度" in n["text"] and n["flagged"] for n in checks.notes(far))


def test_the_reviewer_sees_the_checks_on_the_visit(
    enrolled, people, assigned, contract, client_for
):
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    send(tablet, case, when=timezone.now() - dt.timedelta(minutes=5), north_m=500, on_site_s=10)
    page = client_for(Role.MANAGER).get(f"/fieldwork/cases/{contract.code}/{case.case_ref}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "案件の住所からの距離" in text and "現地での時間: 10 秒" in text
    assert text.count('class="notice error"') >= 2
    # A visit entered at the office has no tablet checks.
    assert len(fieldwork.visits_of(case)) == 1


def test_a_photo_the_same_as_another_cases_is_flagged(enrolled, people, assigned):
    tablet = ready(enrolled, people)
    first, second = assigned["mine"]
    picture = photo_with_metadata(seed=1)
    when = timezone.now() - dt.timedelta(minutes=5)
    assert send(tablet, first, when=when, photos=[picture]).duplicate_photos == 0
    again = send(tablet, second, when=when + dt.timedelta(minutes=5), photos=[picture])
    assert again.duplicate_photos == 1
    assert any("同じ画像" in n["text"] and n["flagged"] for n in checks.notes(again))

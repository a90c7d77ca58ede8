"""A malformed instance is refused with every problem named by its field path."""

from __future__ import annotations

import pytest

from genchi.planning import InstanceError, parse_instance
from tests.planning.helpers import SHINJUKU, clone, instance, stop, surveyor


def base() -> dict:
    return instance(
        [stop("a", 35.7, 139.7), stop("b", 35.71, 139.71)],
        [surveyor("s1", SHINJUKU, [1, 2])],
        [1, 2],
    )


def refused(data) -> dict[str, str]:
    with pytest.raises(InstanceError) as info:
        parse_instance(data)
    errors = {e.path: e.message for e in info.value.errors}
    # The exception text carries the paths too (the CLI prints it).
    for path in errors:
        assert path in str(info.value)
    return errors


def test_a_valid_instance_parses_with_defaults():
    inst = parse_instance(base())
    assert [s.id for s in inst.stops] == ["a", "b"]
    assert inst.stops[0].visits == 1 and inst.stops[0].remaining == 1
    assert inst.surveyors[0].start == 9 * 60 and inst.surveyors[0].end == 18 * 60
    assert inst.evening_from == 17 * 60 and inst.weekend_days == frozenset()


@pytest.mark.parametrize(
    "key",
    ["stops", "surveyors", "days", "max_visits_per_day", "speed_kmh", "detour_factor", "seconds"],
)
def test_each_required_top_level_field_missing(key):
    data = base()
    del data[key]
    errors = refused(data)
    assert errors[key] == "必須の項目です。"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("stops", [], "空ではない一覧"),
        ("surveyors", [], "空ではない一覧"),
        ("days", [], "空ではない一覧"),
        ("stops", {"id": "a"}, "一覧"),
        ("max_visits_per_day", "12", "整数"),
        ("max_visits_per_day", 2.5, "整数"),
        ("max_visits_per_day", 0, "1 以上 100 以下"),
        ("speed_kmh", "fast", "数値"),
        ("speed_kmh", True, "数値"),
        ("detour_factor", 0.5, "1 以上 5 以下"),
        ("seconds", 0, "0.1 以上"),
        ("seconds", float("nan"), "有限"),
        ("evening_from", "5pm", "09:00"),
    ],
)
def test_top_level_wrong_types_and_ranges(key, value, message):
    data = base()
    data[key] = value
    assert message in refused(data)[key]


@pytest.mark.parametrize("key", ["id", "lat", "lng", "minutes"])
def test_each_required_stop_field_missing(key):
    data = base()
    del data["stops"][1][key]
    assert refused(data)[f"stops[1].{key}"] == "必須の項目です。"


@pytest.mark.parametrize("key", ["id", "lat", "lng", "days", "start", "end"])
def test_each_required_surveyor_field_missing(key):
    data = base()
    del data["surveyors"][0][key]
    assert refused(data)[f"surveyors[0].{key}"] == "必須の項目です。"


@pytest.mark.parametrize(
    ("field", "value", "path", "message"),
    [
        ("lat", 91, "stops[1].lat", "-90 以上 90 以下"),
        ("lat", -90.5, "stops[1].lat", "-90 以上 90 以下"),
        ("lng", 181, "stops[1].lng", "-180 以上 180 以下"),
        ("lat", "35.7", "stops[1].lat", "数値"),
        ("lat", None, "stops[1].lat", "必須"),
        ("lat", float("inf"), "stops[1].lat", "有限"),
        ("id", "", "stops[1].id", "空でない文字列か整数"),
        ("id", True, "stops[1].id", "空でない文字列か整数"),
        ("id", "a", "stops[1].id", "重複"),
        ("minutes", 0, "stops[1].minutes", "1 以上"),
        ("minutes", "15", "stops[1].minutes", "数値"),
        ("earliest", "25:00", "stops[1].earliest", "09:00"),
        ("latest", 1700, "stops[1].latest", "09:00"),
        ("days", [3], "stops[1].days[0]", "調査期間"),
        ("days", [], "stops[1].days", "空ではない一覧"),
        ("days", ["1"], "stops[1].days[0]", "整数"),
        ("visits", 0, "stops[1].visits", "1 以上"),
        ("gap_days", -1, "stops[1].gap_days", "0 以上"),
        ("other_time", "yes", "stops[1].other_time", "true か false"),
        ("surveyor", "nobody", "stops[1].surveyor", "surveyors にありません"),
        ("fixed_day", 9, "stops[1].fixed_day", "調査期間"),
        ("done", [{"day": 1}], "stops[1].done[0].time", "必須"),
        ("done", "yesterday", "stops[1].done", "一覧"),
    ],
)
def test_stop_fields(field, value, path, message):
    data = base()
    data["stops"][1][field] = value
    assert message in refused(data)[path]


def test_zero_zero_is_refused_as_an_ungeocoded_address():
    data = base()
    data["stops"][0]["lat"] = data["stops"][0]["lng"] = 0
    assert "(0, 0)" in refused(data)["stops[0].lat"]


def test_a_stop_that_is_not_an_object():
    data = base()
    data["stops"].append("c")
    assert "オブジェクト" in refused(data)["stops[2]"]


@pytest.mark.parametrize(
    ("field", "value", "path", "message"),
    [
        ("days", [1, 5], "surveyors[0].days[1]", "調査期間"),
        ("days", [], "surveyors[0].days", "空ではない一覧"),
        ("start", "9:00am", "surveyors[0].start", "09:00"),
        ("end", "08:00", "surveyors[0].end", "開始時刻より後"),
        ("lng", -200, "surveyors[0].lng", "-180 以上"),
    ],
)
def test_surveyor_fields(field, value, path, message):
    data = base()
    data["surveyors"][0][field] = value
    assert message in refused(data)[path]


def test_every_problem_is_listed_not_only_the_first():
    data = clone(base())
    data["stops"][0]["lat"] = 200
    data["stops"][1]["minutes"] = "x"
    data["surveyors"][0]["end"] = "07:00"
    del data["seconds"]
    assert set(refused(data)) == {"stops[0].lat", "stops[1].minutes", "surveyors[0].end", "seconds"}


def test_not_an_object_at_all():
    assert list(refused([1, 2]).values()) == [
        "インスタンスは JSON オブジェクト({…})で指定してください。"
    ]

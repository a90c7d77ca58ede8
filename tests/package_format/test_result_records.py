"""genchi/results/v1: exactly the J4/J5 items leave the contractor, each of its type."""

import pytest

from genchi.package_format.records import RESULT_FIELDS, blank_result, check_record

FULL = blank_result("C0001", "resident_presumed") | {
    "decided_on": "2026-12-04",
    "visit_count": 2,
    "visits": [{"on": "2026-12-01", "at": "10:20"}, {"on": "2026-12-04", "at": "18:45"}],
    "nameplate": "taxpayer",
    "tenure": "rented",
    "landlord": "新宿ハウジング株式会社",
    "landlord_phone": "03-0000-0000",
    "contact_slip": "posted",
    "photos": ["C0001/1.jpg"],
}


def test_a_blank_and_a_full_record_fit():
    assert check_record("results", blank_result("C0001")) is None
    assert check_record("results", FULL) is None
    assert [k for k, _ in RESULT_FIELDS] == list(blank_result("x"))


@pytest.mark.parametrize("extra", ["interview", "notes", "name", "address", "lat"])
def test_any_other_item_is_refused(extra):
    assert check_record("results", FULL | {extra: "x"}) == (
        "result_fields",
        {"extra": extra, "missing": ""},
    )


def test_a_missing_item_is_refused():
    record = dict(FULL)
    del record["photos"]
    assert check_record("results", record) == ("result_fields", {"extra": "", "missing": "photos"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("outcome", "居住確認"),
        ("outcome", None),
        ("decided_on", "2026-13-01"),
        ("decided_on", "4 Dec"),
        ("visit_count", -1),
        ("visit_count", True),
        ("visit_count", 2.0),
        ("visits", [{"on": "2026-12-01"}]),
        ("visits", [{"on": "2026-12-01", "at": "25:00"}]),
        ("visits", [{"on": "2026-12-01", "at": "10:00", "note": "x"}]),
        ("nameplate", "本人"),
        ("tenure", "lease"),
        ("landlord", "x" * 201),
        ("landlord", None),
        ("landlord_phone", 312345678),
        ("contact_slip", "mailbox"),
        ("photos", "C0001/1.jpg"),
        ("photos", [""]),
        ("photos", [1]),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused(field, value):
    assert check_record("results", FULL | {field: value}) == (
        "result_field_invalid",
        {"field": field},
    )

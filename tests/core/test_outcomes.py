"""One outcome vocabulary (issue 15): the package's codes, one label and one rule each,
stored by the contractor's visits and cases and by the ward's results alike."""

from django.apps import apps
from django.utils import translation

from genchi.core.outcomes import OUTCOME_RULES, Outcome, described, rule_of
from genchi.package_format.records import OUTCOMES


def test_the_codes_are_the_result_package_allow_list():
    assert tuple(Outcome.values) == OUTCOMES


def test_every_outcome_has_a_rule_in_both_languages():
    assert set(OUTCOME_RULES) == set(Outcome.values)
    with translation.override("ja"):
        japanese = described()
    with translation.override("en"):
        english = described()
    assert [o["code"] for o in japanese] == list(OUTCOMES)
    assert japanese[0]["label"] == "居住確認" and "本人に会えた" in japanese[0]["rule"]
    for ja, en in zip(japanese, english, strict=True):
        assert ja["rule"] and en["rule"] and ja["rule"] != en["rule"], ja["code"]
        assert en["label"] != ja["label"], ja["code"]
    assert rule_of("") == "" and rule_of("no_such_code") == ""


def test_every_stored_outcome_uses_the_one_vocabulary():
    fields = [
        apps.get_model("fieldwork", "SurveyCase")._meta.get_field("outcome"),
        apps.get_model("fieldwork", "Visit")._meta.get_field("outcome"),
        apps.get_model("results", "CaseResult")._meta.get_field("outcome"),
    ]
    for field in fields:
        assert [code for code, _label in field.choices] == list(OUTCOMES), field
        assert field.max_length >= max(len(code) for code in OUTCOMES), field

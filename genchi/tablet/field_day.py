"""What the tablet needs for the day in the field (issue 16 item 9), handed at sync down:

- the visit form (fields, labels, choices, help) read from fieldwork's `VisitForm`;
- the visit rules as data, *derived from* `fieldwork.services.visit_problems` by asking it
  (which choices trigger which rule, and its message): the app evaluates this table, the
  server runs `visit_problems` itself again at sync up; the table holds no code or text
  of its own (a test compares both over every combination);
- the S5 word list, compiled as the server compiles it (`fieldwork.forbidden`);
- today's route in order from the planner's plan, with each stop's contact-slip number.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.fieldwork import forbidden
from genchi.fieldwork import services as fieldwork_services
from genchi.fieldwork.forms import VisitForm
from genchi.planner import plan_selectors

# Japan and its islands with a margin, as `visit_problems` checks (a test keeps them equal).
LAT_RANGE = (20.0, 46.5)
LNG_RANGE = (122.0, 154.5)
# Fields the device fills itself (the camera brings the photos; the time is the clock's).
DEVICE_FIELDS = ("photos",)


def _kind(field: forms.Field) -> str:
    widget = field.widget
    if isinstance(widget, forms.RadioSelect):
        return "radio"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(field, forms.DateTimeField):
        return "datetime"
    if isinstance(field, forms.DecimalField | forms.IntegerField):
        return "number"
    return "text"


def visit_form() -> list[dict]:
    """The office's visit form, field by field, for the app to draw."""
    form = VisitForm()
    fields = []
    for name, field in form.fields.items():
        if name in DEVICE_FIELDS:
            continue
        item = {
            "name": name,
            "label": str(field.label),
            "kind": _kind(field),
            "required": bool(field.required),
            "help": str(field.help_text or ""),
        }
        if hasattr(field, "choices"):
            item["choices"] = [[str(v), str(label)] for v, label in field.choices if v != ""]
        if isinstance(field, forms.TypedChoiceField):
            # Choices read as true or false (応答 あり/なし): which values mean true.
            item["true_values"] = [v for v, _label in item["choices"] if field.coerce(v) is True]
        initial = form.get_initial_for_field(field, name)
        if initial not in (None, ""):
            item["initial"] = str(initial)
        if getattr(field, "max_length", None):
            item["max_length"] = field.max_length
        fields.append(item)
    return fields


def _choices(name: str) -> list[str]:
    return [str(v) for v, _label in VisitForm.base_fields[name].choices if v != ""]


def _problems(**data) -> dict[str, str]:
    return fieldwork_services.visit_problems(data)


def _rule(target: str, message: str, *conditions: dict) -> dict:
    return {"field": target, "message": str(message), "when": list(conditions)}


def visit_rules() -> list[dict]:
    """`visit_problems` as a table: each rule names the field it flags, its message and
    the conditions (all must hold). A field takes the first rule that flags it.

    Conditions: {"field", "op"} with op one of filled, empty, true, false, in, not_in
    (with "values"), not_number, outside (with "range"), future (with "skew_seconds")."""
    vp = _problems
    lat, lng = "35.7", "139.6"
    rules = []
    # When: not in the future (beyond the clock skew).
    later = timezone.now() + dt.timedelta(days=1)
    rules.append(
        _rule(
            "visited_at",
            vp(visited_at=later)["visited_at"],
            {
                "field": "visited_at",
                "op": "future",
                "skew_seconds": int(fieldwork_services.CLOCK_SKEW.total_seconds()),
            },
        )
    )
    # Where: both coordinates or none, numbers, in Japan.
    filled = {"op": "filled"}
    rules.append(
        _rule(
            "lng",
            vp(lat=lat)["lng"],
            {"field": "lat", **filled},
            {"field": "lng", "op": "empty"},
        )
    )
    rules.append(
        _rule(
            "lat",
            vp(lng=lng)["lat"],
            {"field": "lng", **filled},
            {"field": "lat", "op": "empty"},
        )
    )
    both = [{"field": "lat", **filled}, {"field": "lng", **filled}]
    not_number = vp(lat="x", lng="y")["lat"]
    rules.append(_rule("lat", not_number, *both, {"field": "lat", "op": "not_number"}))
    rules.append(_rule("lat", not_number, *both, {"field": "lng", "op": "not_number"}))
    outside = vp(lat="0", lng="0")["lat"]
    rules.append(
        _rule("lat", outside, *both, {"field": "lat", "op": "outside", "range": list(LAT_RANGE)})
    )
    rules.append(
        _rule("lat", outside, *both, {"field": "lng", "op": "outside", "range": list(LNG_RANGE)})
    )
    sources = _choices("position_source")
    without = [s for s in sources if "position_source" in vp(lat=lat, lng=lng, position_source=s)]
    if without:
        message = vp(lat=lat, lng=lng, position_source=without[0])["position_source"]
        rules.append(
            _rule(
                "position_source",
                message,
                *both,
                {"field": "position_source", "op": "in", "values": without},
            )
        )
    needing = [s for s in sources if "lat" in vp(position_source=s)]
    if needing:
        rules.append(
            _rule(
                "lat",
                vp(position_source=needing[0])["lat"],
                {"field": "lat", "op": "empty"},
                {"field": "lng", "op": "empty"},
                {"field": "position_source", "op": "in", "values": needing},
            )
        )
    precise = [
        s
        for s in sources
        if "accuracy_m" in vp(position_source=s, lat=lat, lng=lng, accuracy_m=None)
    ]
    if precise:
        rules.append(
            _rule(
                "accuracy_m",
                vp(position_source=precise[0], accuracy_m=None)["accuracy_m"],
                {"field": "position_source", "op": "in", "values": precise},
                {"field": "accuracy_m", "op": "empty"},
            )
        )
    # Who was met, and what was said.
    people = _choices("interviewee")
    nobody = [i for i in people if "interview" in vp(interviewee=i, interview="x")]
    somebody = [i for i in people if i not in nobody]
    if nobody:
        rules.append(
            _rule(
                "interview",
                vp(interviewee=nobody[0], interview="x")["interview"],
                {"field": "interviewee", "op": "in", "values": nobody},
                {"field": "interview", "op": "filled"},
            )
        )
    if somebody:
        rules.append(
            _rule(
                "interview",
                vp(interviewee=somebody[0], interview="")["interview"],
                {"field": "interviewee", "op": "in", "values": somebody},
                {"field": "interview", "op": "empty"},
            )
        )
    in_person = [i for i in people if "interviewee" in vp(answered=False, interviewee=i)]
    if in_person:
        rules.append(
            _rule(
                "interviewee",
                vp(answered=False, interviewee=in_person[0])["interviewee"],
                {"field": "answered", "op": "false"},
                {"field": "interviewee", "op": "in", "values": in_person},
            )
        )
    slips = [s for s in _choices("contact_slip") if "contact_slip" in vp(contact_slip=s)]
    if slips:
        rules.append(
            _rule(
                "contact_slip",
                vp(contact_slip=slips[0])["contact_slip"],
                {"field": "answered", "op": "false"},
                {"field": "contact_slip", "op": "in", "values": slips},
            )
        )
    # The outcome must fit who was met.
    for outcome in _choices("outcome"):
        if "outcome" not in vp(outcome=outcome):
            continue
        met = [i for i in people if "outcome" not in vp(outcome=outcome, interviewee=i)]
        rules.append(
            _rule(
                "outcome",
                vp(outcome=outcome)["outcome"],
                {"field": "outcome", "op": "in", "values": [outcome]},
                {"field": "interviewee", "op": "not_in", "values": met},
            )
        )
    # No landlord for an owned home.
    owned = [t for t in _choices("tenure") if "landlord_name" in vp(tenure=t, landlord_name="x")]
    if owned:
        message = vp(tenure=owned[0], landlord_name="x")["landlord_name"]
        for given in ("landlord_name", "landlord_phone"):
            rules.append(
                _rule(
                    "landlord_name",
                    message,
                    {"field": given, "op": "filled"},
                    {"field": "tenure", "op": "in", "values": owned},
                )
            )
    return rules


def word_list() -> dict:
    """The S5 guard's list as the server compiled it: the app normalises the text the same
    way (`forbidden.normalise`, ported to guard_words.js) and matches these patterns."""
    words = forbidden.load_word_list()
    return {
        "categories": [
            {
                "code": rule.code,
                "label": str(forbidden.CATEGORIES[rule.code].label),
                "why": str(forbidden.CATEGORIES[rule.code].why),
                "match": rule.match.pattern if rule.match else None,
                "excuse": rule.excuse.pattern if rule.excuse else None,
            }
            for rule in words.rules
        ],
        "landmark": words.landmark.pattern if words.landmark else None,
        "dropped": "".join(sorted(forbidden._DROPPED)),
        "line": _("%(words)sは%(label)sに関する記載のため記録できません。"),
        "rephrase": _("言い換えてください。"),
    }


def todays_route(device, date: dt.date) -> dict:
    """Today's stops in the planner's order for the device's surveyor, each with the
    contact slip's number (its place in the day's run, as printed on the slip)."""
    try:
        day = plan_selectors.day_for(device.surveyor, device.contract, device.surveyor.pk, date)
    except Http404:
        return {"date": date.isoformat(), "stops": []}
    total = len(day.stops)
    return {
        "date": date.isoformat(),
        "stops": [
            {"ref": stop["ref"], "time": stop.get("time"), "slip": f"{n} / {total}"}
            for n, stop in enumerate(day.stops, start=1)
        ],
    }

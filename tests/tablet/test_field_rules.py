"""The day in the field (issue 16 item 9): the visit rules and the S5 guard the device
runs are the server's own. The rule table is derived from `visit_problems`, the app's
`rules.js` evaluates it, and over thousands of visits both flag the same fields; the app's
`words.js` refuses and passes the same texts as `forbidden.check_text`, with the same
words and categories. Run with Node (the app's plain ES modules, no browser needed)."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

import genchi
from genchi.fieldwork import forbidden
from genchi.fieldwork.services import visit_problems
from genchi.tablet import field_day
from tests.fieldwork.test_forbidden_guard import NEUTRAL, REFUSED

STATIC = Path(genchi.__file__).parent / "tablet" / "static" / "tablet"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node is not installed")


def run_node(tmp_path: Path, module: str, script: str, data) -> object:
    """Import the app's module in Node and run `script` over `data` (JSON in, JSON out)."""
    shutil.copy(STATIC / module, tmp_path / module.replace(".js", ".mjs"))
    (tmp_path / "input.json").write_text(json.dumps(data, ensure_ascii=False))
    runner = tmp_path / "run.mjs"
    runner.write_text(
        'import { readFileSync } from "node:fs";\n'
        f'import * as m from "./{module.replace(".js", ".mjs")}";\n'
        'const data = JSON.parse(readFileSync(new URL("./input.json", import.meta.url)));\n'
        f"const out = ({script})(data);\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    done = subprocess.run([NODE, str(runner)], capture_output=True, check=True, timeout=120)
    return json.loads(done.stdout)


def choices(name: str) -> list[str]:
    field = next(f for f in field_day.visit_form() if f["name"] == name)
    return [value for value, _label in field["choices"]]


POSITIONS = [
    ("", ""),
    ("35.7", "139.6"),
    ("35.7", ""),
    ("", "139.6"),
    ("abc", "139.6"),
    ("35.7", "x"),
    ("0", "0"),
    ("47.0", "139.6"),
    ("35.7", "155.0"),
    ("46.5", "154.5"),
    ("19.99", "122.0"),
]


def visits(count: int) -> list[tuple[dict, dict]]:
    """(what the form posts, what the server's form makes of it) for many visits."""
    rng = random.Random(16)
    now = timezone.now()
    times = [now, now + timezone.timedelta(minutes=5), now + timezone.timedelta(hours=2)]
    options = {
        "answered": ["yes", "no"],
        "interviewee": choices("interviewee"),
        "interview": ["", "玄関で話を聞いた。"],
        "contact_slip": choices("contact_slip"),
        "outcome": choices("outcome"),
        "tenure": choices("tenure"),
        "landlord_name": ["", "豊玉管理"],
        "landlord_phone": ["", "03-1234-5678"],
        "position_source": choices("position_source"),
        "accuracy_m": ["", "8"],
    }
    out = []
    for n in range(count):
        raw = {name: rng.choice(values) for name, values in options.items()}
        raw["lat"], raw["lng"] = POSITIONS[n % len(POSITIONS)]
        at = times[n % len(times)]
        raw["visited_at"] = at.isoformat()
        cleaned = dict(raw)
        cleaned["answered"] = raw["answered"] == "yes"
        cleaned["accuracy_m"] = int(raw["accuracy_m"]) if raw["accuracy_m"] else None
        cleaned["visited_at"] = at
        out.append((raw, cleaned))
    return out


def test_the_rule_table_holds_no_code_or_text_of_its_own():
    """Every message in the table is one `visit_problems` gives."""
    rules = field_day.visit_rules()
    assert len(rules) >= 14
    messages = {r["message"] for r in rules}
    seen = set()
    for _raw, cleaned in visits(3000):
        seen |= set(visit_problems(cleaned).values())
    assert messages <= seen | {
        visit_problems({"visited_at": timezone.now() + timezone.timedelta(1)})["visited_at"]
    }


@needs_node
def test_the_device_flags_the_same_fields_as_the_server(tmp_path):
    cases = visits(4000)
    form, rules = field_day.visit_form(), field_day.visit_rules()
    device = run_node(
        tmp_path,
        "rules.js",
        "(d) => d.visits.map((v) => m.visitProblems(d.rules, d.form, v))",
        {"visits": [raw for raw, _c in cases], "rules": rules, "form": form},
    )
    differences = []
    for (raw, cleaned), flagged in zip(cases, device, strict=True):
        server = visit_problems(cleaned)
        if server != flagged:
            differences.append((raw, server, flagged))
    assert not differences, differences[:3]
    # And every rule was met at least once in these visits.
    flagged_fields = {f for found in device for f in found}
    assert flagged_fields == {r["field"] for r in rules}
    assert {"outcome", "interview", "interviewee", "contact_slip", "lat", "lng"} <= flagged_fields


@needs_node
def test_the_device_guard_refuses_and_passes_the_same_texts(tmp_path):
    texts = list(NEUTRAL) + [t for phrasings in REFUSED.values() for t in phrasings]
    texts += [
        "ｼﾞｻﾂ未遂",
        "自　殺を図った",
        "ＨＩＶ陽性",
        "ニュウイン中",
        "宗教の話のあと、入院していると言った",
        "入院中の病院の隣",
        "母入院中病院前で待つ",
        "元受刑者の施設の隣",
        "創価学会の会館の隣",
        "障害物があった",
        "カ\u3099ン",  # a voicing mark apart
        "",
    ]
    device = run_node(
        tmp_path,
        "words.js",
        "(d) => d.texts.map((t) => m.checkText(t, d.list))",
        {"texts": texts, "list": field_day.word_list()},
    )
    for text, found in zip(texts, device, strict=True):
        server = forbidden.check_text(text)
        assert found["allowed"] == server.allowed, text
        assert found["categories"] == server.codes, text
        assert found["words"] == list(server.words), text
        if not server.allowed:
            assert found["message"] == server.message(), text
    assert any(not f["allowed"] for f in device) and any(f["allowed"] for f in device)


@needs_node
def test_every_word_of_the_list_is_caught_on_the_device_too(tmp_path):
    import tomllib

    data = tomllib.loads(forbidden.DATA_FILE.read_text(encoding="utf-8"))
    words = list(
        itertools.chain.from_iterable(c.get("words", []) for c in data["categories"].values())
    )
    device = run_node(
        tmp_path,
        "words.js",
        "(d) => d.texts.map((t) => m.checkText(t, d.list).allowed)",
        {"texts": words, "list": field_day.word_list()},
    )
    assert [forbidden.check_text(w).allowed for w in words] == device

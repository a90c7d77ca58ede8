"""The planner is a plain library: importing and running it loads no Django."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.planning.helpers import mixed

SCRIPT = """
import json, sys
import genchi.planning as planning
data = json.loads(sys.stdin.read())
plan = planning.solve(planning.parse_instance(data))
assert planning.check_plan(planning.parse_instance(data), plan) == []
try:
    planning.parse_instance({})
except planning.InstanceError as exc:
    print(exc.errors[0].message)
print(sorted(m for m in sys.modules if m == "django" or m.startswith("django.")))
"""


def test_importing_and_solving_does_not_import_django():
    data = mixed(seed=6)
    data["seconds"] = 0.5
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    message, modules = proc.stdout.strip().splitlines()
    assert message == "必須の項目です。"  # untranslated Japanese without Django
    assert modules == "[]"

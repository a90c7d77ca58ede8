"""The format is a library of its own: importing it loads neither Django nor any Genchi
app (an import-linter contract will say the same for the whole dependency graph)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import genchi.package_format

SCRIPT = """
import json, sys
assert not any(name == "django" or name.startswith("django.") for name in sys.modules)
import genchi.package_format
from genchi.package_format import age, archive, errors, keys, manifest, reader, records, writer
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_format_loads_no_django_and_no_app():
    root = Path(genchi.package_format.__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}  # no DJANGO_SETTINGS_MODULE
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], check=True, capture_output=True, text=True, env=env
    )
    loaded = json.loads(out.stdout)
    assert "genchi.package_format.writer" in loaded  # the import did happen
    assert not [m for m in loaded if m == "django" or m.startswith("django.")]
    assert not [
        m for m in loaded if m.startswith("genchi.") and not m.startswith("genchi.package_format")
    ]

"""Every UI text is translatable, and the English catalogue translates all of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import genchi

SOURCE = Path(genchi.__file__).parent

pytestmark = pytest.mark.skipif(
    not (shutil.which("xgettext") and shutil.which("msgattrib")),
    reason="GNU gettext is not installed (Debian package gettext)",
)


def test_english_catalogue_covers_every_message(tmp_path):
    """Extract the messages afresh (makemessages on a copy of the sources) and check that
    none is untranslated or only guessed (fuzzy): a new gettext() call without its English
    entry fails here."""
    copy = tmp_path / "genchi"
    shutil.copytree(
        SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "data", "static", "fonts")
    )
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "en", "--no-wrap"],
        cwd=copy,
        check=True,
        capture_output=True,
        # Without settings: makemessages then works on the folder it runs in only.
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    po = copy / "locale" / "en" / "LC_MESSAGES" / "django.po"
    problems = {}
    for flag in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(
            ["msgattrib", flag, "--no-obsolete", "--no-wrap", str(po)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        missing = [
            line for line in out.splitlines() if line.startswith('msgid "') and line != 'msgid ""'
        ]
        if missing:
            problems[flag] = missing
    assert not problems, problems

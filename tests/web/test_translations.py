"""Every UI text is translatable, and the English catalogue translates all of it."""

from __future__ import annotations

import os
import re
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


# Pages rendered when Django itself has failed stay static on purpose.
STATIC_TEMPLATES = {"web/templates/web/500.html"}
JAPANESE = re.compile(
    r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff]"
)  # not punctuation such as ・


def _outside_translate_tags(text: str) -> str:
    for pattern in (
        r"\{%\s*blocktranslate.*?endblocktranslate\s*%\}",
        r"\{%\s*translate\s+([\"']).*?\1.*?%\}",
        r"\{#.*?#\}",
        r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}",
        r"\{\{.*?\}\}",
    ):
        text = re.sub(pattern, "", text, flags=re.S)
    return text


def test_templates_have_no_japanese_outside_translate_tags():
    """makemessages cannot see a literal written outside {% translate %}: such text would
    stay Japanese in the English UI without any test noticing."""
    root = Path(genchi.__file__).parent
    found = []
    for path in sorted(root.glob("*/templates/**/*.html")):
        name = path.relative_to(root).as_posix()
        if name in STATIC_TEMPLATES:
            continue
        for line in _outside_translate_tags(path.read_text()).splitlines():
            if JAPANESE.search(line):
                found.append(f"{name}: {line.strip()[:80]}")
    assert not found, "\n".join(found)


# A control's ID (J3, W-O2, C-S2.4, S16 …) belongs to docs/controls.md and the code's
# comments; what people read says what to do in words.
CONTROL_ID = re.compile(
    r"(?<![A-Za-z0-9_])(J[1-9]|W-[OS][0-9]|C-[OS][0-9][0-9.]*|S[0-9]{1,2})(?![A-Za-z0-9_])"
)


def test_no_text_people_read_names_a_control_id(tmp_path):
    """Every message extracted afresh (what the pages, documents and commands show),
    checked for a control ID."""
    copy = tmp_path / "genchi"
    shutil.copytree(
        SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "data", "static", "fonts")
    )
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "en", "--no-wrap"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    po = (copy / "locale" / "en" / "LC_MESSAGES" / "django.po").read_text()
    live = subprocess.run(
        ["msgattrib", "--no-obsolete", "--no-wrap", "-"],
        input=po,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    named = [
        line for line in live.splitlines() if line.startswith("msgid ") and CONTROL_ID.search(line)
    ]
    assert named == []

"""The data folder is private (0700, files 0600): made so, and checked at start-up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from genchi.core.datafolder import exposed, exposed_message

# A fresh installation on SQLite, whatever database the suite runs on.
SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from genchi.vault import keys
keys.current_master_key()  # writes the master key file
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
"""


def _env(data: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(GENCHI_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="genchi.settings")
    return env


def _modes(folder: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_a_new_installation_creates_everything_private(tmp_path):
    data = tmp_path / "var"
    # An operator's usual umask would make 0644 files; Genchi sets its own.
    result = subprocess.run(
        [sys.executable, "-c", f"import os; os.umask(0o022)\n{SETUP}"],
        env=_env(data),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    modes = _modes(data)
    assert {"genchi.sqlite3", "keys/master.key", "secret_key"} <= set(modes)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_start_up_refuses_a_readable_data_folder_and_says_how_to_fix_it(tmp_path):
    data = tmp_path / "var"
    subprocess.run([sys.executable, "-c", SETUP], env=_env(data), check=True, capture_output=True)
    data.chmod(0o755)
    (data / "genchi.sqlite3").chmod(0o644)

    result = subprocess.run(
        [sys.executable, "-m", "genchi", "check"], env=_env(data), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert f"{data}: 0755(正しくは 0700)" in result.stderr
    assert f"{data / 'genchi.sqlite3'}: 0644(正しくは 0600)" in result.stderr
    assert f"chmod -R go-rwx {data}" in result.stderr

    # A web server runs no command: the WSGI entry point refuses to start too.
    wsgi = subprocess.run(
        [sys.executable, "-c", "import genchi.wsgi"], env=_env(data), capture_output=True, text=True
    )
    assert wsgi.returncode == 1
    assert "ImproperlyConfigured" in wsgi.stderr and "0644" in wsgi.stderr

    # Once fixed as the message says, it starts.
    subprocess.run(["chmod", "-R", "go-rwx", str(data)], check=True)
    fixed = subprocess.run(
        [sys.executable, "-m", "genchi", "check"], env=_env(data), capture_output=True, text=True
    )
    assert fixed.returncode == 0, fixed.stderr


def test_exposed_names_folders_and_files_but_follows_no_link(tmp_path):
    data = tmp_path / "data"
    (data / "files").mkdir(parents=True, mode=0o700)
    data.chmod(0o700)
    secret = data / "files" / "export.csv"
    secret.write_text("x")
    secret.chmod(0o640)
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o755)
    outside.chmod(0o755)
    (data / "link").symlink_to(outside)
    found = exposed(data)
    assert [(e.path, e.mode, e.is_folder) for e in found] == [(secret, 0o640, False)]
    assert "0640(正しくは 0600)" in exposed_message(data, found)

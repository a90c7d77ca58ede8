"""Upgrades: the demo data folder of every earlier release (tests/fixtures/upgrade/, made
by scripts/build_upgrade_fixture.py) migrates forward with the current code, and what it
held still opens: every encrypted value, the second factors, the audit log's chain."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "upgrade").glob("genchi-*-demo.tar.gz"))

READ_EVERYTHING = """
import django
django.setup()
from django.apps import apps
from genchi.vault.fields import EncryptedTextField
opened = 0
for model in apps.get_models():
    fields = [f for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
    for row in model.objects.all():
        for field in fields:
            value = getattr(row, field.attname)
            assert value is not None
            opened += bool(value)
from genchi.accounts.models import TOTPDevice
for device in TOTPDevice.objects.all():
    assert len(device.bin_key) >= 20
print("opened", opened)
"""


def test_there_is_a_fixture_of_an_earlier_release():
    assert FIXTURES, "tests/fixtures/upgrade/ holds no release's demo data folder"


@pytest.mark.parametrize("archive", FIXTURES, ids=lambda p: p.name.removesuffix("-demo.tar.gz"))
def test_a_release_data_folder_migrates_forward_and_still_opens(archive, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    with tarfile.open(archive) as tar:
        tar.extractall(data, filter="data")
    for path in [data, *data.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    env = {**os.environ, "GENCHI_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "genchi.settings"}
    env.pop("DATABASE_URL", None)

    def genchi(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "genchi", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )

    migrated = genchi("migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert genchi("migrate", "--check").returncode == 0  # nothing left to apply
    verified = genchi("audit", "verify")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]
    read = subprocess.run(
        [sys.executable, "-c", READ_EVERYTHING], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert read.returncode == 0, read.stderr[-3000:]
    assert int(read.stdout.split()[-1]) > 100  # the demo's cases, decrypted

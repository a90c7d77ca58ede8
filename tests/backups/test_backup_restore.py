"""Backups that respect erasure (issue 18 item 3): a backup is encrypted to an offline
recipient and never holds the master key; it restores into an empty installation given
that key; after an erasure's master-key rotation an older backup no longer opens.

Runs real `genchi` processes on a copy of release 0.1.0's demo data folder (the upgrade
fixture). On the PostgreSQL run of the suite the installation lives in a database of its
own on the same server (pg_dump / pg_restore); otherwise on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "upgrade" / "genchi-0.1.0-demo.tar.gz"
sys.path.insert(0, str(ROOT))
from tests.core.test_upgrade import READ_EVERYTHING  # noqa: E402


def _postgres_url(name: str) -> str | None:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return None
    return base.rsplit("/", 1)[0] + "/" + name


class Install:
    """One Genchi installation: a data folder and (on PostgreSQL) a database."""

    def __init__(self, root: Path, name: str, database_url: str | None) -> None:
        self.data = root / name
        self.database_url = database_url

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "GENCHI_DATA_DIR": str(self.data),
            "DJANGO_SETTINGS_MODULE": "genchi.settings",
        }
        env.pop("DATABASE_URL", None)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def genchi(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "genchi", *args], env=self.env(), cwd=ROOT,
                                capture_output=True, text=True)  # fmt: skip
        if ok:
            assert result.returncode == 0, (
                f"genchi {' '.join(args)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def read_everything(self) -> int:
        result = subprocess.run([sys.executable, "-c", READ_EVERYTHING], env=self.env(), cwd=ROOT,
                                capture_output=True, text=True)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return int(result.stdout.split()[-1])


def _createdb(url: str | None) -> None:
    if url:
        name = url.rsplit("/", 1)[1]
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def _dropdb(url: str | None) -> None:
    if url:
        name = url.rsplit("/", 1)[1]
        subprocess.run(
            ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", name], check=False
        )


@pytest.fixture
def installs(tmp_path):
    made: list[str | None] = []

    def make(name: str) -> Install:
        url = _postgres_url(f"genchi_backup_{uuid.uuid4().hex[:8]}")
        _createdb(url)
        made.append(url)
        return Install(tmp_path, name, url)

    yield make
    for url in made:
        _dropdb(url)


def _from_fixture(install: Install) -> None:
    install.data.mkdir(mode=0o700)
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(install.data, filter="data")
    for path in [install.data, *install.data.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    if install.database_url:
        # The fixture is a SQLite installation: on PostgreSQL, start from its keys and
        # files with a database of the same history (migrated, then the demo's data).
        (install.data / "genchi.sqlite3").unlink()
        for leftover in ("audit",):
            for path in sorted((install.data / leftover).rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            (install.data / leftover).rmdir()
        install.genchi("migrate", "--no-input")
        install.genchi("demo", "--no-serve")
    else:
        install.genchi("migrate", "--no-input")


def test_backup_restore_and_erasure(installs, tmp_path):
    original = installs("original")
    _from_fixture(original)
    opened = original.read_everything()
    assert opened > 100

    init = original.genchi("backup", "init", "--generate")
    identity = next(
        line for line in init.stdout.splitlines() if line.startswith("AGE-SECRET-KEY-1")
    )
    (tmp_path / "backup.key").write_text(identity + "\n")
    assert identity not in (original.data / "keys" / "backup.recipient").read_text()
    paper = next(
        line for line in original.genchi("keys", "export-master").stdout.splitlines()
        if line.startswith("GENCHI-MK1 ")
    )  # fmt: skip
    (tmp_path / "master.txt").write_text(paper)
    backup = tmp_path / "before-erasure.age"
    created = original.genchi("backup", "create", "--out", str(backup))
    assert "SHA-256" in created.stdout

    # The backup never holds the master key, in any form.
    listing = original.genchi(
        "backup", "inspect", str(backup), "--identity", str(tmp_path / "backup.key")
    )
    assert "master_key_id" in listing.stdout
    master_file = (original.data / "keys" / "master.key").read_text()
    import base64
    import json

    key = base64.b64decode(json.loads(master_file)["key"])
    assert key not in backup.read_bytes()

    # Restore into a new, empty installation, given the key on paper.
    restored = installs("restored")
    restored.data.mkdir(mode=0o700)
    missing_key = restored.genchi("backup", "restore", str(backup), "--identity", str(tmp_path / "backup.key"),
                                  "--master-key", str(tmp_path / "nothing.txt"), ok=False)  # fmt: skip
    assert missing_key.returncode == 1 and "マスター鍵を読めません" in missing_key.stderr
    restored.genchi("backup", "restore", str(backup), "--identity", str(tmp_path / "backup.key"),
                    "--master-key", str(tmp_path / "master.txt"))  # fmt: skip
    # Only the installation's own files came back, not the backup's working copies.
    assert not list(restored.data.glob("tmp-backup-*"))
    restored.genchi("migrate", "--no-input")
    restored.genchi("audit", "verify")
    assert restored.read_everything() == opened
    # Restoring over an installation in use is refused: nothing is overwritten.
    again = restored.genchi("backup", "restore", str(backup), "--identity", str(tmp_path / "backup.key"),
                            "--master-key", str(tmp_path / "master.txt"), ok=False)  # fmt: skip
    assert again.returncode == 1 and "空ではありません" in again.stderr

    # A wrong identity does not open the backup.
    other = original.genchi("backup", "init", "--generate")
    (tmp_path / "other.key").write_text(
        next(line for line in other.stdout.splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    )
    wrong = installs("wrong")
    wrong.data.mkdir(mode=0o700)
    refused = wrong.genchi("backup", "restore", str(backup), "--identity", str(tmp_path / "other.key"),
                           "--master-key", str(tmp_path / "master.txt"), ok=False)  # fmt: skip
    assert refused.returncode == 1 and "開けません" in refused.stderr

    # Erasure: the contract's keys go, the master key is rotated; the older backup needs
    # the retired key, which is gone, so it opens no more, not even for that contract.
    original.genchi("keys", "contract-erase", "--contract", "shinjuku-2026-kyojuu",
                    "--org", "shinjuku-tax", "--confirm", "shinjuku-2026-kyojuu")  # fmt: skip
    original.genchi("master-key", "rotate")
    original.genchi("keys", "export-master")  # the new key, for the new paper copy
    new_paper = next(
        line for line in original.genchi("keys", "export-master").stdout.splitlines()
        if line.startswith("GENCHI-MK1 ")
    )  # fmt: skip
    assert new_paper != paper
    (tmp_path / "new-master.txt").write_text(new_paper)
    late = installs("late")
    late.data.mkdir(mode=0o700)
    old_backup = late.genchi("backup", "restore", str(backup), "--identity", str(tmp_path / "backup.key"),
                             "--master-key", str(tmp_path / "new-master.txt"), ok=False)  # fmt: skip
    assert old_backup.returncode == 1 and "より前のバックアップは開けません" in old_backup.stderr

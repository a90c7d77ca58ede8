"""Keep the demo data folder of a release as a fixture for the upgrade test.

Run on the release's commit, before the version moves on:

    python scripts/build_upgrade_fixture.py        # writes tests/fixtures/upgrade/genchi-<version>-demo.tar.gz

The archive holds what `genchi demo --no-serve` leaves in a fresh data folder (the SQLite
database, its keys, audit anchor and files; not the collected static files). The upgrade
test (tests/core/test_upgrade.py) migrates every such archive with the current code and
checks that the data still opens and the audit log still verifies. The data is the
demo's invented people; the keys in it protect nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genchi import __version__  # noqa: E402

OUTPUT = ROOT / "tests" / "fixtures" / "upgrade" / f"genchi-{__version__}-demo.tar.gz"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {
            **os.environ,
            "GENCHI_DATA_DIR": str(data),
            "DJANGO_SETTINGS_MODULE": "genchi.settings",
        }
        env.pop("DATABASE_URL", None)
        subprocess.run([sys.executable, "-m", "genchi", "demo", "--no-serve"], env=env, check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(OUTPUT, "w:gz") as archive:
            for path in sorted(data.rglob("*")):
                relative = path.relative_to(data)
                if relative.parts[0] == "static":
                    continue
                archive.add(path, arcname=str(relative), recursive=False)
    print(f"{OUTPUT.relative_to(ROOT)}: {OUTPUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

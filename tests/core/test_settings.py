"""Production settings: Django's deployment check finds nothing to warn about."""

import os
import subprocess
import sys


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(tmp_path),
        "GENCHI_PRODUCTION": "1",
        "GENCHI_ALLOWED_HOSTS": "genchi.example.lg.jp",
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "genchi", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

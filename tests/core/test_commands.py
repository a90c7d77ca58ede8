"""The command line speaks Japanese: usage errors and refusals, with exit codes, no traceback."""

import os
import subprocess
import sys


def _genchi(tmp_path, *args):
    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
    }
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "genchi", *args], env=env, capture_output=True, text=True
    )


def test_usage_errors_are_japanese_with_exit_status_2(tmp_path):
    missing = _genchi(tmp_path, "cases", "import")
    assert missing.returncode == 2
    assert "使い方:" in missing.stderr and "次の引数が必要です: file" in missing.stderr
    wrong = _genchi(tmp_path, "audit", "frobnicate")
    assert wrong.returncode == 2 and "は選べません" in wrong.stderr
    assert "Traceback" not in missing.stderr + wrong.stderr


def test_refusals_read_as_japanese_errors_with_exit_status_1(tmp_path):
    assert _genchi(tmp_path, "migrate").returncode == 0
    result = _genchi(tmp_path, "demo-otp", "nobody")
    assert result.returncode == 1
    assert result.stderr.strip() == "エラー: 利用者 nobody は登録されていません。"

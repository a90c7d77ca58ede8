"""`genchi plan …` as a user runs it: JSON out, exit codes, Japanese refusals, no database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.planning.helpers import mixed


def genchi(tmp_path, *args, stdin: str | None = None, database_url: str | None = None):
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "genchi", "plan", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(tmp_path, name, data) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_solve_prints_a_plan_without_any_database(tmp_path):
    data = mixed(seed=3)
    data["seconds"] = 1
    # An unreachable PostgreSQL: any query would fail the command.
    proc = genchi(
        tmp_path,
        "solve",
        write(tmp_path, "i.json", data),
        database_url="postgres://nobody@127.0.0.1:9/none",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"routes", "unassigned", "totals", "trips"}
    route = out["routes"][0]
    assert set(route) >= {"surveyor", "day", "stops", "km", "minutes"}
    assert isinstance(route["stops"], list) and isinstance(route["km"], float)
    assert set(out["totals"]) >= {"km", "minutes", "routes", "visits", "unassigned"}
    for entry in out["unassigned"]:
        assert set(entry) >= {"id", "reason"}
    # SQLite: no database file was made in the data folder either.
    proc = genchi(tmp_path, "solve", write(tmp_path, "i.json", data))
    assert proc.returncode == 0, proc.stderr
    assert not list((tmp_path / "data").glob("*.sqlite3*"))

    # The plan passes `genchi plan check`.
    plan = write(tmp_path, "p.json", json.loads(proc.stdout))
    check = genchi(tmp_path, "check", str(tmp_path / "i.json"), plan)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout) == {"ok": True, "problems": []}


def test_solve_reads_standard_input(tmp_path):
    data = mixed(seed=4)
    data["seconds"] = 1
    proc = genchi(tmp_path, "solve", "-", "--pretty", stdin=json.dumps(data))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("{\n") and json.loads(proc.stdout)["routes"]


def test_a_refused_instance_exits_1_naming_the_field(tmp_path):
    data = mixed()
    data["stops"][3]["lat"] = 123
    del data["speed_kmh"]
    proc = genchi(tmp_path, "solve", write(tmp_path, "bad.json", data))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("エラー: インスタンスに誤りがあります(2 件):")
    assert "stops[3].lat: -90 以上 90 以下で指定してください。" in proc.stderr
    assert "speed_kmh: 必須の項目です。" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_not_json_exits_1(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"stops": [', encoding="utf-8")
    proc = genchi(tmp_path, "solve", str(path))
    assert proc.returncode == 1 and "JSON として読めません(1 行" in proc.stderr


def test_usage_errors_exit_2(tmp_path):
    missing = genchi(tmp_path, "solve")
    assert missing.returncode == 2 and "次の引数が必要です: instance" in missing.stderr
    nofile = genchi(tmp_path, "solve", str(tmp_path / "none.json"))
    assert nofile.returncode == 2 and "ファイルがありません" in nofile.stderr
    wrong = genchi(tmp_path, "frobnicate")
    assert wrong.returncode == 2 and "は選べません" in wrong.stderr
    assert "Traceback" not in missing.stderr + nofile.stderr + wrong.stderr


def test_areas_and_replan_commands(tmp_path):
    data = mixed(seed=5)
    data["seconds"] = 1
    instance = write(tmp_path, "i.json", data)
    areas = genchi(tmp_path, "areas", instance)
    assert areas.returncode == 0, areas.stderr
    proposal = json.loads(areas.stdout)
    assert {a["surveyor"] for a in proposal["areas"]} == {"s1", "s2"}
    assert proposal["trips"]
    solved = genchi(tmp_path, "solve", instance)
    plan = write(tmp_path, "p.json", json.loads(solved.stdout))
    again = genchi(tmp_path, "replan", instance, plan, "--surveyor", "s2", "--from-day", "8")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert all(r["day"] >= 8 for r in out["routes"] if r["surveyor"] == "s2")
    solved_plan = json.loads(solved.stdout)
    day = min(r["day"] for r in solved_plan["routes"] if r["surveyor"] == "s2")
    today = next(r for r in solved_plan["routes"] if r["surveyor"] == "s2" and r["day"] == day)
    args = ("--surveyor", "s2", "--from-day", str(day + 1), "--under-way", str(day))
    kept = genchi(tmp_path, "replan", instance, plan, *args)
    assert kept.returncode == 0, kept.stderr
    routes = [r for r in json.loads(kept.stdout)["routes"] if r["surveyor"] == "s2"]
    assert [r for r in routes if r["day"] <= day] == [today]
    nobody = genchi(tmp_path, "replan", instance, plan, "--surveyor", "s9", "--from-day", "8")
    assert nobody.returncode == 2 and "s9" in nobody.stderr

"""Benchmark: the case list with its map and the area proposal page, at 50 and 500 cases.

    .venv/bin/python bench/areas.py                 # builds the demo once (about 2 min)
    .venv/bin/python bench/areas.py --iterations 40
    .venv/bin/python bench/areas.py --rebuild

A child process builds (or reuses) a data folder under bench/.cache/areas with the demo
(`genchi demo --no-serve`: 500 cases received through the real handover, bases, a
confirmed area proposal). A second child signs in as the demo manager (password and
second factor) and, inside a transaction it rolls back, makes a new draft proposal and
requests each page with Django's test Client many times: the server time (request in,
HTML out, no network), the CPU time of the request and the number of SQL queries. It then
deletes all but 50 cases (still inside that transaction), makes a proposal again and
measures the same pages: the query count must be the same at 50 and at 500 (issue 14:
≤ 300 ms server time with 500 cases, a fixed number of queries).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "bench" / ".cache" / "areas"
TARGET_MS = 300
DEMO_PASSWORD = "genchi-demo-2026"  # noqa: S105 - the demo's published password


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genchi.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _signed_in(username: str):
    from django.test import Client
    from django_otp.oath import totp

    from genchi.accounts.models import TOTPDevice

    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    client = Client()
    response = client.post("/signin/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.status_code
    for _attempt in range(3):
        device.refresh_from_db()
        code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
        response = client.post("/signin/second-factor/", {"code": code})
        if response.status_code == 302:
            break
        time.sleep(device.step + 1)  # a code is taken once: wait for the next one
    assert response.status_code == 302, response.status_code
    return client


def _page(client, url: str, iterations: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    walls, cpus, queries = [], [], set()
    size = 0
    for i in range(iterations + 2):
        with CaptureQueriesContext(connection) as captured:
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert response.status_code == 200, (url, response.status_code)
        if i >= 2:  # the first two warm the caches
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
            queries.add(len(captured))
            size = len(response.content)

    def p95(values):
        return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]

    return {
        "p50_ms": round(statistics.median(walls), 1),
        "p95_ms": round(p95(walls), 1),
        "cpu_p50_ms": round(statistics.median(cpus), 1),
        "cpu_p95_ms": round(p95(cpus), 1),
        "queries": sorted(queries),
        "kb": size // 1024,
    }


def measure(iterations: int) -> dict:
    _setup()
    from django.db import transaction

    from genchi.accounts.models import User
    from genchi.fieldwork.models import SurveyCase
    from genchi.parties.demo import CONTRACT_CODE
    from genchi.parties.models import Contract
    from genchi.planner import areas_services

    contract = Contract.objects.get(code=CONTRACT_CODE)
    manager = User.objects.get(username="manager")
    client = _signed_in("manager")
    pages = {
        "case list and map": "/fieldwork/cases/",
        "area proposal (draft)": f"/planner/{contract.code}/areas/",
    }
    results: dict = {"load": os.getloadavg()[0], "runs": []}
    with transaction.atomic():
        # Cases back to "received" so that every one is in the new draft.
        SurveyCase.objects.filter(contract=contract).update(surveyor=None, status="received")
        for size in (500, 50):
            ids = list(
                SurveyCase.objects.filter(contract=contract)
                .order_by("id")
                .values_list("id", flat=True)
            )
            if len(ids) > size:
                SurveyCase.objects.filter(pk__in=ids[size:]).delete()
            started = time.perf_counter()
            proposal = areas_services.propose(contract, by=manager)
            propose_s = time.perf_counter() - started
            run = {
                "cases": SurveyCase.objects.filter(contract=contract).count(),
                "proposal_rows": proposal.rows.count(),
                "propose_s": round(propose_s, 2),
                "pages": {name: _page(client, url, iterations) for name, url in pages.items()},
            }
            results["runs"].append(run)
        transaction.set_rollback(True)
    return results


def _child(step: str, folder: Path, *extra: str) -> dict | None:
    env = dict(os.environ, GENCHI_DATA_DIR=str(folder))
    env.pop("DATABASE_URL", None)
    if step == "build":
        command = [sys.executable, "-m", "genchi", "demo", "--no-serve"]
    elif step == "migrate":
        command = [sys.executable, "-m", "genchi", "migrate", "--no-input", "-v", "0"]
    else:
        command = [sys.executable, __file__, "--child", step, *extra]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-4000:])
        raise SystemExit(f"{step} failed")
    if step == "measure":
        return json.loads(result.stdout.strip().splitlines()[-1])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="data folder to reuse")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--iters", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.iters), ensure_ascii=False))
        return 0

    marker = args.dir / "built.json"
    if args.rebuild and args.dir.exists():
        import shutil

        shutil.rmtree(args.dir)
    if not marker.exists():
        args.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        args.dir.chmod(0o700)  # a Genchi data folder is private (its own check refuses)
        print("building the demo (500 cases)…", file=sys.stderr)
        _child("build", args.dir)
        marker.write_text(json.dumps({"built": time.strftime("%Y-%m-%d %H:%M")}))
        marker.chmod(0o600)
    else:
        _child("migrate", args.dir)
    figures = _child("measure", args.dir, "--iters", str(args.iterations))
    print(f"load average at the end: {figures['load']:.1f}, 2 vCPUs\n")
    print(
        f"{'page':24} {'cases':>5} {'p50 ms':>7} {'p95 ms':>7} {'CPU p50':>8} {'CPU p95':>8}"
        f" {'queries':>8} {'KB':>5}"
    )
    ok = True
    counts: dict[str, set] = {}
    for run in figures["runs"]:
        for name, row in run["pages"].items():
            counts.setdefault(name, set()).update(row["queries"])
            print(
                f"{name:24} {run['cases']:5d} {row['p50_ms']:7.1f} {row['p95_ms']:7.1f}"
                f" {row['cpu_p50_ms']:8.1f} {row['cpu_p95_ms']:8.1f}"
                f" {','.join(map(str, row['queries'])):>8} {row['kb']:5d}"
            )
            if run["cases"] >= 500:
                ok &= row["cpu_p95_ms"] <= TARGET_MS
        print(f"  (proposal of {run['proposal_rows']} cases made in {run['propose_s']} s)")
    print()
    for name, seen in counts.items():
        fixed = len(seen) == 1
        ok &= fixed
        print(
            f"{name}: queries at 50 and 500 cases {sorted(seen)}  {'fixed' if fixed else 'GROWS'}"
        )
    print(
        f"\ntarget: ≤ {TARGET_MS} ms server time at 500 cases, fixed queries: {'pass' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

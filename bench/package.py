"""Benchmark of encrypted packages (D4, D11): writing a package against a plain copy.

A handover is bounded by the medium (a USB 3 stick writes at 30-400 MB/s), so the target
compares our writer with what the same folder costs anyway:

  write   write_package(kind="results", X25519) into --out-dir, with its fsync of the file
          and of the folder, in a child process (peak memory = the child's VmHWM)
  copy    a plain copy of as many bytes from the same photo files into a new file in the
          same folder, no crypto, with the same fsyncs, in a child process

Targets: write <= 1.25 x copy (ratio of the medians), peak memory of the writing child
<= 100 MB. `--without-writeback` adds a third row: the writer with its early write-back
turned off (the whole package left to the final fsync), to show what that step is worth.

Two packages are measured in one run: a realistic one (500 cases, 300 photos of 0.8-2.5 MB,
about 0.5 GB) and a larger one (500 cases, 500 photos of 4 MB, about 2 GB; --large-mb).
The inputs are generated in a temporary folder (removed afterwards) and read once so they
sit in the page cache; before each timed run the page cache's dirty pages are flushed
(sync), and write and copy alternate which goes first.

    .venv/bin/python bench/package.py                      # both packages, 3 runs each
    .venv/bin/python bench/package.py --repeat 5 --large-mb 4096
    .venv/bin/python bench/package.py --out-dir /media/usb  # e.g. a mounted USB stick
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RECORDS = 500
RATIO_LIMIT = 1.25
PEAK_LIMIT_MB = 100
IO_CHUNK = 1024 * 1024
MB = 1_000_000

COLUMNS = [
    ("case_ref", "案件番号"),
    ("outcome", "調査結果"),
    ("nameplate", "表札"),
    ("visits", "訪問回数"),
    ("notes", "備考"),
]


def records() -> list[dict[str, object]]:
    return [
        {
            "case_ref": f"C{i:05d}",
            "outcome": "居住推定",
            "nameplate": "本人",
            "visits": 2,
            "notes": "電気メーター稼働、郵便物の滞留なし",
        }
        for i in range(RECORDS)
    ]


def make_photos(folder: Path, sizes: list[int]) -> list[tuple[str, str]]:
    """Photo-like files (random, incompressible) of the given sizes, four per case."""
    folder.mkdir()
    block = os.urandom(IO_CHUNK)
    made: list[tuple[str, str]] = []
    for index, size in enumerate(sizes):
        case = f"C{index // 4:05d}"
        (folder / case).mkdir(exist_ok=True)
        path = folder / case / f"{index % 4 + 1}.jpg"
        with open(path, "wb") as f:
            written = 0
            while written < size:
                piece = os.urandom(64) + block[64 : min(len(block), size - written)]
                f.write(piece[: size - written])
                written += min(len(piece), size - written)
        made.append((str(path), f"{case}/{path.name}"))
    return made


def high_water_kb() -> int:
    """Peak RSS of this process. VmHWM rather than ru_maxrss: Linux carries ru_maxrss over
    exec, so a child's ru_maxrss would include the parent's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_write(spec: dict, out: Path, writeback: bool = True) -> dict:
    from genchi.package_format import keys, writer

    if not writeback:
        writer.WRITEBACK_BYTES = 1 << 62  # never: everything waits for the final fsync

    ward = keys.OrganisationKeys.from_bytes(bytes.fromhex(spec["ward"]))
    con = keys.OrganisationKeys.from_bytes(bytes.fromhex(spec["contractor"]))
    photos = [writer.PhotoSource(p, n) for p, n in spec["photos"]]
    cpu0 = _cpu()
    start = time.perf_counter()
    written = writer.write_package(
        kind="results",
        contract="K2026-001",
        sender=con.org_code,
        recipient=ward.org_code,
        records=iter(records()),
        csv_columns=COLUMNS,
        photos=photos,
        recipients=[ward.encryption.recipient],
        signing_key=con.signing,
        out_dir=out,
    )
    return {
        "seconds": time.perf_counter() - start,
        "cpu": _cpu() - cpu0,
        "size": written.size,
        "path": str(written.path),
        "peak_kb": high_water_kb(),
    }


def child_copy(spec: dict, out: Path, size: int) -> dict:
    """`size` bytes read from the photo files in turn, written to a new file in `out`,
    then the same fsyncs as the writer (file, then folder)."""
    buf = bytearray(IO_CHUNK)
    view = memoryview(buf)
    target = out / "copy.bin"
    cpu0 = _cpu()
    start = time.perf_counter()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        left = size
        while left:
            for path, _name in spec["photos"]:
                with open(path, "rb", buffering=0) as f:
                    while left and (n := f.readinto(view[: min(len(buf), left)])):
                        os.write(fd, view[:n])
                        left -= n
                if not left:
                    break
        os.fsync(fd)
        folder = os.open(out, os.O_RDONLY)
        os.fsync(folder)
        os.close(folder)
    finally:
        os.close(fd)
    return {
        "seconds": time.perf_counter() - start,
        "cpu": _cpu() - cpu0,
        "path": str(target),
        "peak_kb": high_water_kb(),
    }


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(
    name: str, sizes: list[int], work: Path, out: Path, keys_hex: dict, args: argparse.Namespace
) -> tuple[list, dict[str, list[dict]]]:
    folder = work / name
    photos = make_photos(folder, sizes)
    spec_path = work / f"{name}.json"
    spec_path.write_text(json.dumps({**keys_hex, "photos": photos}))
    for path, _ in photos:  # into the page cache: the runs measure the output, not the input
        with open(path, "rb") as f:
            while f.read(IO_CHUNK):
                pass
    runs: dict[str, list[dict]] = {"write": [], "copy": []}
    kinds = ["write", "copy"] + (["nowb"] if args.without_writeback else [])
    for i in range(args.repeat):
        for what in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:  # each goes first in turn
            os.sync()  # no run pays for the previous one's write-back
            if what == "copy":
                size = runs["write"][-1]["size"] if runs["write"] else sum(sizes) + 2 * MB
                result = run_child("_copy", str(spec_path), str(out), str(size))
            else:
                result = run_child("_" + what, str(spec_path), str(out))
            runs.setdefault(what, []).append(result)
            Path(result["path"]).unlink()
        print(
            f"  run {i + 1}/{args.repeat}: "
            + ", ".join(f"{what} {runs[what][-1]['seconds']:.2f} s" for what in kinds),
            flush=True,
        )
    shutil.rmtree(folder)
    return photos, runs


def report(name: str, photos: list, runs: dict[str, list[dict]]) -> list[bool]:
    writes, copies = runs["write"], runs["copy"]
    size = writes[0]["size"]
    write_s = statistics.median(r["seconds"] for r in writes)
    copy_s = statistics.median(r["seconds"] for r in copies)
    ratio = write_s / copy_s
    peak_mb = max(r["peak_kb"] for r in writes) / 1024
    pairs = sorted(w["seconds"] / c["seconds"] for w, c in zip(writes, copies, strict=True))

    def row(label: str, runs: list[dict], secs: float) -> str:
        times = sorted(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        return (
            f"  {label:36}{secs:8.2f} s{size / secs / MB:8.0f} MB/s"
            f"   range {times[0]:.2f}-{times[-1]:.2f} s   CPU {cpu:.2f} s"
        )

    print(f"{name}: {RECORDS} records, {len(photos)} photos, package {size / MB:,.0f} MB")
    print(row("write_package + fsync", writes, write_s))
    print(row("plain copy + fsync", copies, copy_s))
    if "nowb" in runs:
        nowb_s = statistics.median(r["seconds"] for r in runs["nowb"])
        print(row("write_package, no early write-back", runs["nowb"], nowb_s))
    ratio_ok = ratio <= RATIO_LIMIT
    peak_ok = peak_mb <= PEAK_LIMIT_MB
    print(
        f"  {'PASS' if ratio_ok else 'FAIL'}  write / copy = {ratio:.2f} (target <= {RATIO_LIMIT}; "
        f"run by run {pairs[0]:.2f}-{pairs[-1]:.2f})"
    )
    print(
        f"  {'PASS' if peak_ok else 'FAIL'}  peak memory of the writing process "
        f"{peak_mb:.0f} MB (target <= {PEAK_LIMIT_MB} MB)"
    )
    return [ratio_ok, peak_ok]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median kept)")
    parser.add_argument("--large-mb", type=int, default=2000, help="photos of the larger package")
    parser.add_argument("--tmpdir", default=None, help="where the inputs go (default: system temp)")
    parser.add_argument("--out-dir", default=None, help="folder written to (default: in --tmpdir)")
    parser.add_argument(
        "--without-writeback", action="store_true", help="also time the writer without it"
    )
    args = parser.parse_args()

    from genchi.package_format import keys

    work = Path(tempfile.mkdtemp(prefix="genchi-bench-", dir=args.tmpdir))
    out = Path(tempfile.mkdtemp(prefix="genchi-bench-out-", dir=args.out_dir or work))
    try:
        ward = keys.generate_organisation_keys("WARD01", "区税務課")
        con = keys.generate_organisation_keys("CON01", "受託事業者")
        keys_hex = {"ward": ward.to_bytes().hex(), "contractor": con.to_bytes().hex()}
        rng = random.Random(2026)
        scenarios = {
            "realistic": [rng.randrange(800_000, 2_500_000) for _ in range(300)],
            "larger": [4 * MB] * (args.large_mb // 4),
        }
        print(
            f"cpus: {len(os.sched_getaffinity(0))}; output folder: {out}; median of {args.repeat}"
        )
        results: list[tuple[str, list, dict[str, list[dict]]]] = []
        for name, sizes in scenarios.items():
            print(f"{name}: generating {sum(sizes) / MB:,.0f} MB of photos …", flush=True)
            results.append((name, *measure(name, sizes, work, out, keys_hex, args)))
        print()
        checks = [ok for result in results for ok in report(*result)]
        return 0 if all(checks) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.out_dir:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("_write", "_nowb", "_copy"):
        mode, spec_file, out_dir, *rest = sys.argv[1:]
        spec_data = json.loads(Path(spec_file).read_text())
        if mode != "_copy":
            figures = child_write(spec_data, Path(out_dir), writeback=mode == "_write")
        else:
            figures = child_copy(spec_data, Path(out_dir), int(rest[0]))
        print(json.dumps(figures))
        sys.exit(0)
    sys.exit(main())

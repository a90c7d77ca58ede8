"""Benchmark of encrypted packages (D4): throughput and peak memory of write_package.

Generates photo-like random files (default 2 GiB) plus 500 records in a temporary
directory, reads them once so that they sit in the page cache, then measures on the same
bytes, in the same run, `--repeat` times each (interleaved), and reports medians:

  raw AEAD   ChaCha20-Poly1305 (cryptography), one thread, over the photo files read in
             64 KiB chunks, ciphertext discarded
  ours       write_package (kind="results", X25519), in a child process, output to --out-dir
  hashlib    the same, photos hashed one at a time with hashlib (GENCHI_MULTIHASH=0): shown
             when this machine hashes 16 photos at a time (AVX-512, genchi/transfer/multihash)
  age CLI    tar -cf - photos | age -r … -o <out-dir>/cli.age
  discarded  write_package again, its payload writes made no-ops: the same work as ours
             except the output, like the reference (which discards its ciphertext)
  floor      one thread writing as many bytes as our package into a new file in --out-dir,
             no crypto: what the output folder alone costs (on a virtual machine, memory
             the host has taken back is slow to touch again, and that shows here)
  verify     open_package (first, checking pass) on our package, in a child process

The target names packing and encrypting, so by default both writers write into a
RAM-backed folder (/dev/shm when it exists) and the disk does not dominate. `--disk`
also measures, on the disk holding the inputs, ours and `tar | age` followed by fsync and a
plain write + fsync with no crypto.

Checks: ours >= 50% of raw AEAD, ours >= age CLI (both on medians), peak memory of the
child (VmHWM, write and verify) <= 100 MB.

    .venv/bin/python bench/package.py                    # 2 GiB, 5 runs, RAM-backed output
    .venv/bin/python bench/package.py --size-mb 500 --repeat 3
    .venv/bin/python bench/package.py --disk             # also the fsync'd on-disk figures
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PHOTO_BYTES = 4 * 1024 * 1024  # a typical phone photo is 2-6 MB
RECORDS = 500
PEAK_LIMIT_MB = 100
RAM_DIR = Path("/dev/shm")


def make_inputs(work: Path, total_bytes: int) -> tuple[Path, list[tuple[str, str]]]:
    photos = work / "photos"
    photos.mkdir()
    made: list[tuple[str, str]] = []
    remaining, index = total_bytes, 0
    block = os.urandom(1024 * 1024)
    while remaining > 0:
        size = min(PHOTO_BYTES, remaining)
        case = f"C{index // 4:05d}"
        (photos / case).mkdir(exist_ok=True)
        path = photos / case / f"{index % 4 + 1}.jpg"
        with open(path, "wb") as f:
            written = 0
            while written < size:
                # Random (incompressible) content, different per file.
                piece = os.urandom(64) + block[64 : min(len(block), size - written)]
                f.write(piece)
                written += len(piece)
        made.append((str(path), f"{case}/{path.name}"))
        remaining -= size
        index += 1
    return photos, made


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


COLUMNS = [
    ("case_ref", "案件番号"),
    ("outcome", "調査結果"),
    ("nameplate", "表札"),
    ("visits", "訪問回数"),
    ("notes", "備考"),
]


def raw_aead(photos: list[tuple[str, str]]) -> tuple[float, int]:
    """One thread: read 64 KiB, ChaCha20-Poly1305 it, discard. The reference speed."""
    aead = ChaCha20Poly1305(ChaCha20Poly1305.generate_key())
    buf = bytearray(64 * 1024)
    view = memoryview(buf)
    total = 0
    start = time.perf_counter()
    counter = 0
    for path, _ in photos:
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                aead.encrypt(counter.to_bytes(12, "big"), view[:n], None)
                counter += 1
                total += n
    return time.perf_counter() - start, total


def plain_write(path: Path, size: int, sync: bool = True) -> float:
    """Ceiling set by the output folder: write `size` bytes (no crypto), then fsync."""
    block = os.urandom(1024 * 1024)
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        left = size
        while left > 0:
            left -= os.write(fd, block[: min(len(block), left)])
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed


def age_cli(age_bin: str, recipient: str, work: Path, out_dir: Path, sync: bool) -> dict:
    """tar | age -r into out_dir, optionally followed by an fsync of the output."""
    out = out_dir / "cli.age"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    tar = subprocess.Popen(["tar", "-cf", "-", "-C", str(work), "photos"], stdout=subprocess.PIPE)
    subprocess.run([age_bin, "-r", recipient, "-o", str(out)], stdin=tar.stdout, check=True)
    assert tar.stdout is not None
    tar.stdout.close()
    if tar.wait() != 0:
        raise RuntimeError("tar failed")
    if sync:
        fd = os.open(out, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.unlink()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": elapsed, "cpu": cpu}


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


def child_write(args: argparse.Namespace) -> None:
    from genchi.transfer import age, keys, package

    if args.discard:
        # Like the reference, which throws its ciphertext away: the writer does all its
        # work but the payload writes do nothing.
        def pwrite_header_only(fd: int, data: bytes | memoryview, offset: int) -> None:
            if offset == 0:
                os.pwrite(fd, data, 0)

        age._pwrite_all = pwrite_header_only  # type: ignore[assignment]

    spec = json.loads(Path(args.spec).read_text())
    ward = keys.OrganisationKeys.from_bytes(bytes.fromhex(spec["ward"]))
    con = keys.OrganisationKeys.from_bytes(bytes.fromhex(spec["contractor"]))
    cpu0 = _cpu()
    start = time.perf_counter()
    written = package.write_package(
        kind="results",
        contract="K2025-001",
        sender=con.org_code,
        recipient=ward.org_code,
        records=iter(records()),
        csv_columns=COLUMNS,
        photos=[package.PhotoSource(p, n) for p, n in spec["photos"]],
        recipients=[ward.encryption.recipient],
        signing_key=con.signing,
        out_dir=args.out,
    )
    elapsed = time.perf_counter() - start
    result = {
        "seconds": elapsed,
        "path": str(written.path),
        "size": written.size,
        "peak_kb": high_water_kb(),
        "cpu": _cpu() - cpu0,
    }
    print(json.dumps(result))


def child_verify(args: argparse.Namespace) -> None:
    from genchi.transfer import keys, package

    spec = json.loads(Path(args.spec).read_text())
    ward = keys.OrganisationKeys.from_bytes(bytes.fromhex(spec["ward"]))
    con = keys.OrganisationKeys.from_bytes(bytes.fromhex(spec["contractor"]))
    cpu0 = _cpu()
    start = time.perf_counter()
    package.open_package(
        args.package,
        sender_key=con.public_card(),
        expected_contract="K2025-001",
        expected_recipient=ward.org_code,
        identity=ward.encryption,
        already_imported=set(),
    )
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "peak_kb": high_water_kb(), "cpu": _cpu() - cpu0}))


def run_child(mode: str, spec: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, mode, "--spec", str(spec), *extra],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def clear(directory: Path) -> None:
    for previous in directory.iterdir():
        previous.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "_write", "_verify"])
    parser.add_argument("--size-mb", type=int, default=2048, help="photo bytes (MiB), default 2048")
    parser.add_argument("--tmpdir", default=None, help="where the inputs go (default: system temp)")
    parser.add_argument(
        "--out-dir",
        default=None,
        help="where the packages are written (default: /dev/shm when it exists, else a temp dir)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender (median kept)")
    parser.add_argument("--disk", action="store_true", help="also measure fsync'd on-disk writes")
    parser.add_argument("--no-verify", action="store_true", help="skip the open_package runs")
    parser.add_argument("--spec", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--discard", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--package", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "_write":
        child_write(args)
        return 0
    if args.mode == "_verify":
        child_verify(args)
        return 0

    from genchi.transfer import keys, multihash

    age_bin = shutil.which("age")
    sixteen_at_a_time = multihash.available()
    work = Path(tempfile.mkdtemp(prefix="genchi-bench-", dir=args.tmpdir))
    if args.out_dir:
        ram_parent: str | None = args.out_dir
    else:
        ram_parent = str(RAM_DIR) if RAM_DIR.is_dir() else None
    ram_out = Path(tempfile.mkdtemp(prefix="genchi-bench-out-", dir=ram_parent))
    try:
        print(f"generating {args.size_mb} MiB of photos + {RECORDS} records …", flush=True)
        _, photos = make_inputs(work, args.size_mb * 1024 * 1024)
        total = sum(os.path.getsize(p) for p, _ in photos)
        ward = keys.generate_organisation_keys("WARD01", "区税務課")
        con = keys.generate_organisation_keys("CON01", "受託事業者")
        disk_out = work / "out"
        disk_out.mkdir()
        spec = work / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "ward": ward.to_bytes().hex(),
                    "contractor": con.to_bytes().hex(),
                    "photos": photos,
                }
            )
        )
        recipient = ward.encryption.recipient
        os.sync()  # no run pays for the inputs' write-back
        raw_aead(photos)  # warm-up: every input is now in the page cache
        runs: dict[str, list[dict]] = {}

        def add(name: str, result: dict) -> None:
            runs.setdefault(name, []).append(result)

        for i in range(args.repeat):
            print(f"run {i + 1}/{args.repeat} …", flush=True)
            raw_s, raw_bytes = raw_aead(photos)
            add("raw", {"seconds": raw_s})
            clear(ram_out)  # the previous round's `age` output
            ours = run_child("_write", spec, "--out", str(ram_out))
            add("ours", ours)
            add("discard", run_child("_write", spec, "--out", str(ram_out), "--discard"))
            if not args.no_verify:
                add("verify", run_child("_verify", spec, "--package", ours["path"]))
            if sixteen_at_a_time:
                clear(ram_out)
                add(
                    "hashlib",
                    run_child("_write", spec, "--out", str(ram_out), env={"GENCHI_MULTIHASH": "0"}),
                )
            size = ours["size"]
            clear(ram_out)
            # Each writer starts just after the previous one's output was deleted, so each
            # finds the same memory to write into (see "floor" above).
            add("floor", {"seconds": plain_write(ram_out / "plain.bin", size, sync=False)})
            clear(ram_out)
            if age_bin:
                add("age", age_cli(age_bin, recipient, work, ram_out, sync=False))
            if args.disk:
                os.sync()
                add("ours_disk", run_child("_write", spec, "--out", str(disk_out)))
                size = Path(runs["ours_disk"][-1]["path"]).stat().st_size
                clear(disk_out)
                os.sync()
                if age_bin:
                    add("age_disk", age_cli(age_bin, recipient, work, disk_out, sync=True))
                    os.sync()
                add("disk", {"seconds": plain_write(work / "plain.bin", size)})

        gb = 1e9

        def med(name: str, key: str = "seconds") -> float | None:
            values = [r[key] for r in runs.get(name, []) if r.get(key) is not None]
            return statistics.median(values) if values else None

        def spread(name: str) -> str:
            rates = sorted(total / r["seconds"] / gb for r in runs[name])
            return f"{rates[0]:.2f}–{rates[-1]:.2f}"

        raw_rate = total / med("raw") / gb  # type: ignore[operator]
        print()
        print(
            f"input: {len(photos)} photos, {total / gb:.2f} GB + {RECORDS} records; "
            f"cpus: {os.cpu_count()}; median of {args.repeat} runs; output: {ram_out.parent}"
        )
        print(
            "photo hashing: "
            + (
                "16 at a time (AVX-512)"
                if sixteen_at_a_time
                else "hashlib, one at a time (no AVX-512, or the extension is not built)"
            )
        )
        print(f"{'':36}{'seconds':>8}{'GB/s':>7}{'range':>12}{'CPU s':>7}{'% raw':>7}")
        rows = [
            ("raw ChaCha20-Poly1305, 1 thread", "raw"),
            ("write_package (ours)", "ours"),
            ("ours, ciphertext discarded", "discard"),
            ("ours, photos hashed by hashlib", "hashlib"),
            ("tar | age -r (CLI)", "age"),
            ("output folder: plain write, no crypto", "floor"),
            ("open_package (verify)", "verify"),
            ("ours, on disk + fsync", "ours_disk"),
            ("tar | age -r, on disk + fsync", "age_disk"),
            ("disk write + fsync, no crypto", "disk"),
        ]
        for label, name in rows:
            secs = med(name)
            if secs is None:
                continue
            cpu = med(name, "cpu")
            rate = total / secs / gb
            cpu_text = f"{cpu:7.2f}" if cpu is not None else f"{'':7}"
            print(
                f"{label:36}{secs:8.2f}{rate:7.2f}{spread(name):>12}{cpu_text}"
                f"{rate / raw_rate:7.0%}"
            )
        peak_mb = max(r["peak_kb"] for r in runs["ours"]) / 1024
        verify_peak = max((r["peak_kb"] for r in runs.get("verify", [])), default=0) / 1024
        disk_peak = max((r["peak_kb"] for r in runs.get("ours_disk", [])), default=0) / 1024
        print(
            f"peak memory (child VmHWM, max over runs): write {max(peak_mb, disk_peak):.1f} MB, "
            f"verify {verify_peak:.1f} MB"
        )
        print()
        our_rate = total / med("ours") / gb  # type: ignore[operator]
        checks = [
            (f"ours >= 50% of raw AEAD ({our_rate / raw_rate:.0%})", our_rate >= 0.5 * raw_rate)
        ]
        age_s = med("age")
        if age_s is not None:
            age_rate = total / age_s / gb
            checks.append((f"ours >= age CLI ({our_rate / age_rate:.0%})", our_rate >= age_rate))
        else:
            checks.append(("ours >= age CLI (age not installed: not measured)", False))
        worst = max(peak_mb, verify_peak, disk_peak)
        checks.append(
            (f"peak memory <= {PEAK_LIMIT_MB} MB ({worst:.0f} MB)", worst <= PEAK_LIMIT_MB)
        )
        for label, ok in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {label}")
        return 0 if all(ok for _, ok in checks) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ram_out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

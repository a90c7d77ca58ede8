"""Benchmark: closing a survey (issue 15 item 6).

Targets: the report for 500 cases with one photo each, PDF and XLSX in ≤ 20 s together,
peak memory ≤ 300 MB; the result package with 500 cases and 1,500 photos (about 1 GB)
written and verified in bounded memory, the ward's import of it ≤ 60 s.

    .venv/bin/python bench/report.py                        # report, 1 photo per case
    .venv/bin/python bench/report.py --package              # + result package and import
    .venv/bin/python bench/report.py --package --photos 3 --photo-kb 700 --rebuild  # full

A child process builds the demo data folder (`genchi demo --no-serve`) under
bench/.cache/report-<photos>-<kb>, then records one visit for every case of the demo
contract through the visit service (with `--photos` generated JPEGs of about
`--photo-kb` KB each, cleaned, encrypted and stored as the office form does) and approves
it. Each measurement runs in its own child process; its peak memory is the child's VmHWM
(the Python process, Django loaded, included).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT_SECONDS, REPORT_MB = 20, 300
IMPORT_SECONDS = 60


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genchi.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s() -> float:
    """CPU seconds of this process so far: on a machine shared with other runs the wall
    time also counts the waits for a core; this does not."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def photo(seed: int, kb: int) -> bytes:
    """A JPEG of about `kb` KB as stored (noise over a drawing; a stored photo is ≤ 2048 px
    and re-encoded at quality 85 by genchi.core.images.clean_image, so the noise is what
    sets its size: less of it until the file is about `kb` KB)."""
    from PIL import Image, ImageDraw

    side = 2048 if kb >= 400 else 1024
    base = Image.new("RGB", (side, side * 3 // 4), (150 + seed % 100, 180, 200))
    draw = ImageDraw.Draw(base)
    draw.rectangle(
        [side // 8 + seed % 300, side // 6, side * 3 // 4, side * 2 // 3], fill=(90, 60, 40)
    )
    noise = Image.effect_noise(base.size, 40 + kb // 20).convert("RGB")
    share = min(0.6, 0.1 + kb / 2000)
    while True:
        out = io.BytesIO()
        Image.blend(base, noise, share).save(out, "JPEG", quality=85)
        if out.tell() <= kb * 1024 * 1.1 or share < 0.02:
            return out.getvalue()
        share *= 0.8


def prepare(photos: int, kb: int) -> dict:
    _setup()
    from django.utils import timezone

    from genchi.accounts.models import User
    from genchi.fieldwork.models import SurveyCase
    from genchi.fieldwork.services import assign_cases, record_visit, review_case
    from genchi.fieldwork.signals import visit_result_recorded
    from genchi.parties.demo import CONTRACT_CODE
    from genchi.parties.models import Contract

    # Not the planner's re-planning after each visit: only the data is wanted here.
    visit_result_recorded.receivers = []
    contract = Contract.objects.get(code=CONTRACT_CODE)
    handler = User.objects.get(username="handler")
    manager = User.objects.get(username="manager")
    surveyor = User.objects.filter(assigned_survey_cases__contract=contract).first()
    free = list(
        SurveyCase.objects.filter(contract=contract, surveyor__isnull=True).values_list(
            "case_ref", flat=True
        )
    )
    if free:
        assign_cases(contract, free, surveyor, by=manager)
    started = time.perf_counter()
    images = [photo(seed, kb) for seed in range(8)]
    n = 0
    closed = ["done", "reported"]
    for case in (
        SurveyCase.objects.filter(contract=contract).exclude(status__in=closed).order_by("id")
    ):
        data = {
            "visited_at": timezone.now().replace(microsecond=0),
            "position_source": "none",
            "lat": "",
            "lng": "",
            "accuracy_m": None,
            "building_type": "apartment",
            "nameplate": "taxpayer",
            "mailbox_name": "taxpayer",
            "mail_piled": "no",
            "electricity": "moving",
            "gas": "unknown",
            "water": "moving",
            "lights": "yes",
            "washing": "yes",
            "curtains": "yes",
            "vacancy_signs": "no",
            "answered": False,
            "interviewee": "none",
            "interview": "",
            "contact_slip": "posted",
            "tenure": "rented",
            "landlord_name": "ベンチ管理株式会社",
            "landlord_phone": "03-0000-0000",
            "outcome": "resident_presumed",
            "needs_revisit": False,
            "notes": "",
        }
        # Each photo differs a little (no duplicate flag); the bytes are cleaned anyway.
        chosen = [images[(n + i) % len(images)] for i in range(photos)]
        record_visit(case, data, chosen, by=handler)
        review_case(case, approve=True, by=manager)
        n += 1
    return {"visited": n, "seconds": round(time.perf_counter() - started, 1)}


def measure_report() -> dict:
    _setup()
    from genchi.fieldwork import report
    from genchi.parties.demo import CONTRACT_CODE
    from genchi.parties.models import Contract

    contract = Contract.objects.select_related("ward", "contractor").get(code=CONTRACT_CODE)
    with tempfile.TemporaryDirectory() as out:
        started, cpu = time.perf_counter(), _cpu_s()
        pdf, xlsx = report.write_report(contract, Path(out))
        seconds, cpu = time.perf_counter() - started, _cpu_s() - cpu
        sizes = (pdf.stat().st_size, xlsx.stat().st_size)
    cases = report.cases_of(contract).count()
    return {"cases": cases, "seconds": round(seconds, 2), "cpu_s": round(cpu, 2),
            "peak_mb": round(_peak_mb(), 1),
            "pdf_mb": round(sizes[0] / 2**20, 1), "xlsx_kb": round(sizes[1] / 1024, 1)}  # fmt: skip


def measure_package(out_dir: str) -> dict:
    _setup()
    from genchi.accounts.models import User
    from genchi.fieldwork import closing
    from genchi.parties.demo import CONTRACT_CODE
    from genchi.parties.models import Contract

    contract = Contract.objects.select_related("ward", "contractor").get(code=CONTRACT_CODE)
    manager = User.objects.get(username="manager")
    started, cpu = time.perf_counter(), _cpu_s()
    (returned,) = closing.return_results(contract, Path(out_dir), by=manager)
    return {"seconds": round(time.perf_counter() - started, 1),
            "cpu_s": round(_cpu_s() - cpu, 1), "peak_mb": round(_peak_mb(), 1),
            "cases": returned.cases, "photos": returned.photos, "path": str(returned.path),
            "mb": round(returned.path.stat().st_size / 2**20, 1)}  # fmt: skip


def measure_import(path: str) -> dict:
    _setup()
    from genchi.accounts.models import User
    from genchi.transfer import services

    staff = User.objects.get(username="ward-staff")
    started, cpu = time.perf_counter(), _cpu_s()
    result = services.receive_package(path, kind="results", by=staff)
    return {"seconds": round(time.perf_counter() - started, 1),
            "cpu_s": round(_cpu_s() - cpu, 1), "peak_mb": round(_peak_mb(), 1),
            "created": result.created}  # fmt: skip


def _child(folder: Path, *args: str) -> dict:
    env = {**os.environ, "GENCHI_DATA_DIR": str(folder)}
    if args[0] == "build":
        subprocess.run([str(ROOT / ".venv" / "bin" / "genchi"), "demo", "--no-serve"],
                       check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
        return {}
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, env=env,
                         stdout=subprocess.PIPE, text=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=1, help="photos per case")
    parser.add_argument("--photo-kb", type=int, default=300)
    parser.add_argument("--package", action="store_true", help="also the result package")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, *rest = args.child
        steps = {
            "prepare": lambda: prepare(int(rest[0]), int(rest[1])),
            "report": measure_report,
            "package": lambda: measure_package(rest[0]),
            "import": lambda: measure_import(rest[0]),
        }
        print(json.dumps(steps[step]()))
        return 0
    folder = ROOT / "bench" / ".cache" / f"report-{args.photos}-{args.photo_kb}"
    if args.rebuild and folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    if not (folder / "prepared").exists():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        print("building the demo and visiting every case …", file=sys.stderr)
        _child(folder, "build")
        done = _child(folder, "prepare", str(args.photos), str(args.photo_kb))
        print(f"  {done['visited']} visits recorded in {done['seconds']} s", file=sys.stderr)
        (folder / "prepared").write_text("ok")
        (folder / "prepared").chmod(0o600)  # the data folder stays private (genchi checks)
    r = _child(folder, "report")
    ok = r["seconds"] <= REPORT_SECONDS and r["peak_mb"] <= REPORT_MB
    print(f"Report, {r['cases']} cases with one photo each: PDF + XLSX {r['seconds']} s "
          f"(CPU {r['cpu_s']} s), "
          f"peak {r['peak_mb']} MB (PDF {r['pdf_mb']} MB, XLSX {r['xlsx_kb']} KB) "
          f"[target ≤ {REPORT_SECONDS} s, ≤ {REPORT_MB} MB: {'pass' if ok else 'FAIL'}]")  # fmt: skip
    if args.package:
        with tempfile.TemporaryDirectory(dir=folder) as out:
            p = _child(folder, "package", out)
            print(f"Result package, {p['cases']} cases, {p['photos']} photos, {p['mb']} MB: "
                  f"written and verified in {p['seconds']} s (CPU {p['cpu_s']} s), "
                  f"peak {p['peak_mb']} MB")  # fmt: skip
            i = _child(folder, "import", p["path"])
            ok = i["seconds"] <= IMPORT_SECONDS
            print(f"Ward import: {i['created']} results in {i['seconds']} s (CPU {i['cpu_s']} s), "
                  f"peak {i['peak_mb']} MB "
                  f"[target ≤ {IMPORT_SECONDS} s: {'pass' if ok else 'FAIL'}]")  # fmt: skip
        print("(the package is returned once: run again with --rebuild to measure again)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

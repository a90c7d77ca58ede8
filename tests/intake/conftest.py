"""Intake fixtures: files built in memory (jobs run at once in tests: tests/settings.py)."""

from __future__ import annotations

import pytest

from genchi.intake.demo_data import HEADER, generate, to_csv_bytes


@pytest.fixture(scope="session")
def taxpayers() -> list[dict]:
    return generate(40, seed=11)


def csv_bytes(rows: list[list[str]], *, header=None, encoding: str = "utf-8") -> bytes:
    lines = [header or HEADER, *rows]
    import csv
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in lines:
        writer.writerow(line)
    return buffer.getvalue().encode(encoding)


def row(
    name="山田 太郎",
    address="東京都世田谷区太子堂4-1-1",
    postal="154-0004",
    building="",
    number="1001",
    kana="ヤマダ タロウ",
    amount="50000",
    year="2022",
    notes="",
) -> list[str]:
    return [number, name, kana, postal, address, building, amount, year, notes]


@pytest.fixture
def good_csv(taxpayers) -> bytes:
    return to_csv_bytes(taxpayers, encoding="cp932")

"""Fixtures of the format tests: three organisations' keys and an output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from genchi.package_format.keys import OrganisationKeys, generate_organisation_keys


@pytest.fixture(scope="module")
def pkg_keys() -> dict[str, OrganisationKeys]:
    return {
        "ward": generate_organisation_keys("WARD01", "新宿区 税務課"),
        "contractor": generate_organisation_keys("CON01", "テストサービサー株式会社"),
        "other": generate_organisation_keys("OTHER9", "別の事業者"),
    }


@pytest.fixture
def pkg_out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out

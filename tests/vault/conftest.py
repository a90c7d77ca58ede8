"""Fixtures of the vault tests: the scopes of the shared contract."""

from __future__ import annotations

import pytest

from genchi import vault
from genchi.parties import services
from tests.transfer.conftest import keys_exchanged, sealed_batch  # noqa: F401 - fixtures


@pytest.fixture
def ward_scope(contract):
    return vault.contract_scope(contract.pk, vault.WARD)


@pytest.fixture
def contractor_scope(contract):
    return vault.contract_scope(contract.pk, vault.CONTRACTOR)


@pytest.fixture
def other_contract(contract, ward, contractor):
    """A second contract between the same two organisations."""
    return services.create_contract(
        code="other",
        title="別契約",
        ward=ward,
        contractor=contractor,
        fiscal_year=2026,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
    )

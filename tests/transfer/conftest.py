"""Fixtures of the handover tests (helpers in handover_world.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.intake.models import Batch
from genchi.transfer import contract_keys, ledger, orgkeys, services
from tests.transfer.handover_world import make_cases, make_sealed_batch


@pytest.fixture
def keys_exchanged(ward, contractor, contract):
    """Organisation cards, then the contract's recipient cards, exchanged both ways."""
    orgkeys.exchange_demo_cards(ward, contractor)
    contract_keys.exchange_demo_cards(contract)
    return ward, contractor


@pytest.fixture
def sealed_batch(people, contract, keys_exchanged) -> Batch:
    return make_sealed_batch(contract, make_cases(contract), by=people[Role.WARD_STAFF])


@pytest.fixture
def exported(sealed_batch, tmp_path, people) -> services.ExportResult:
    """The sealed batch written by ward staff to a folder standing for the stick."""
    out = tmp_path / "stick"
    out.mkdir(exist_ok=True)
    return services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])


@pytest.fixture
def stick(people, ward):
    return ledger.register_stick(
        ward, label="USB-01", serial="SN-0001", capacity_gb=16, by=people[Role.WARD_ADMIN]
    )


@pytest.fixture
def lent_stick(stick, people, contractor):
    ledger.lend_stick(
        stick,
        borrower_name="高田 誠",
        borrower_org=contractor,
        due_on=timezone.localdate() + dt.timedelta(days=3),
        by=people[Role.WARD_STAFF],
    )
    return stick

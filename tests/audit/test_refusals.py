"""Refusals are logged after the rollback, so their entry stays; a refusal whose entry
cannot be written still reaches the person as itself, never as the logging failure."""

from __future__ import annotations

import logging

import pytest

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.transfer import contract_keys, orgkeys, services
from genchi.transfer.refusals import Refused
from tests.audit.failing_log import database_snapshot, failing_entries
from tests.transfer.handover_world import make_cases, make_sealed_batch


@pytest.fixture
def exported(people, contract, tmp_path):
    orgkeys.exchange_demo_cards(contract.ward, contract.contractor)
    contract_keys.exchange_demo_cards(contract)
    batch = make_sealed_batch(contract, make_cases(contract), by=people[Role.WARD_STAFF])
    out = tmp_path / "out"
    out.mkdir()
    return services.export_batch(batch, out, by=people[Role.WARD_STAFF])


def _refused_slip(exported, people):
    services.mark_received(exported.slip, receiver_name="高田 誠")
    return lambda: services.confirm_slip(exported.slip, code="not a code", record_count=3)


def _refused_card(exported, people):
    return lambda: orgkeys.import_card(exported.package.holder, b"{not a card")


def _refused_export(exported, people):
    return lambda: services.send_item("no-such-kind", 1, exported.path.parent)


def _refused_import(exported, people):
    # The ward cannot import the package it sent to the contractor.
    return lambda: services.import_cases_package(exported.path, by=people[Role.WARD_STAFF])


REFUSALS = {
    "slip.confirm_refused": (_refused_slip, Refused),
    "orgkey.card_refused": (_refused_card, Refused),
    "package.export_refused": (_refused_export, Refused),
    "package.refused": (_refused_import, Refused),
}


@pytest.mark.parametrize("action", sorted(REFUSALS))
def test_a_refusal_is_logged_after_its_rollback(action, exported, people):
    arrange, refusal = REFUSALS[action]
    call = arrange(exported, people)
    with pytest.raises(refusal):
        call()
    assert AuditEntry.objects.filter(action=action).count() == 1


@pytest.mark.parametrize("action", sorted(REFUSALS))
def test_a_refusal_whose_entry_fails_is_still_the_refusal(
    action, exported, people, monkeypatch, caplog
):
    arrange, refusal = REFUSALS[action]
    call = arrange(exported, people)
    rows = database_snapshot()
    with failing_entries(monkeypatch, 1) as failing, pytest.raises(refusal):
        call()
    assert failing.failed  # the refusal's entry was attempted, and failed
    assert f"could not log the refusal {action}" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert database_snapshot() == rows


def test_a_card_already_registered_is_refused_with_an_entry_that_stays(ward, contractor):
    orgkeys.exchange_demo_cards(ward, contractor)
    other = orgkeys.create_key_pair(ward, replace=True).card_json  # a new card, not the one held
    with pytest.raises(Refused) as exc:
        orgkeys.import_card(contractor, other)
    assert exc.value.code == "card_exists"
    refused = AuditEntry.objects.get(action="orgkey.card_refused")
    assert refused.detail == {"holder": contractor.code, "code": "card_exists"}

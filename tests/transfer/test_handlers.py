"""Package kinds reach the app that owns them through registered handlers (D10)."""

from __future__ import annotations

import pytest

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork.models import SurveyCase
from genchi.fieldwork.package_handlers import received_cases
from genchi.intake.package_handlers import sealed_batches
from genchi.transfer import handlers, services
from genchi.transfer.models import Package
from genchi.transfer.refusals import Refused


def test_the_owning_apps_registered_their_handlers():
    assert handlers.source_for("cases") is sealed_batches
    assert handlers.receiver_for("cases") is received_cases
    assert (sealed_batches.side, received_cases.side) == ("ward", "contractor")


def test_a_second_handler_for_a_kind_is_refused_at_registration():
    class Impostor:
        kind = "cases"
        side = "contractor"

        def receive(self, incoming):  # pragma: no cover - never called
            return 0

    with pytest.raises(RuntimeError):
        handlers.register_receiver(Impostor())
    with pytest.raises(RuntimeError):
        handlers.register_source(type("Other", (), {"kind": "cases", "side": "ward"})())
    handlers.register_receiver(received_cases)  # the same one again is harmless


def test_sendable_items_are_the_sealed_batches_of_the_wards_contracts(people, sealed_batch):
    from genchi.transfer import selectors

    items = selectors.sendable_for(people[Role.WARD_STAFF])
    assert [(i.key, i.code, i.record_count) for i in items] == [
        (sealed_batch.pk, f"B{sealed_batch.number}", sealed_batch.items.count())
    ]
    # The contractor's side sends no case packages; the auditor sees them but cannot send.
    assert selectors.sendable_for(people[Role.MANAGER]) == []


def test_receiving_a_kind_without_a_receiver_is_refused_and_stores_nothing(
    people, sealed_batch, tmp_path, monkeypatch
):
    out = tmp_path / "usb"
    out.mkdir()
    exported = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    monkeypatch.delitem(handlers._receivers, "cases")
    with pytest.raises(Refused) as refused:
        services.import_cases_package(exported.path, by=people[Role.MANAGER])
    assert refused.value.code == "no_handler"
    assert not SurveyCase.objects.exists()
    assert not Package.objects.filter(direction=Package.Direction.INCOMING).exists()
    assert AuditEntry.objects.filter(action="package.refused").last().detail["code"] == (
        "no_handler"
    )


def test_a_receiver_refusal_rolls_back_the_package_row(people, sealed_batch, tmp_path, monkeypatch):
    out = tmp_path / "usb"
    out.mkdir()
    exported = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])

    class Refusing:
        kind = "cases"
        side = "contractor"

        def receive(self, incoming):
            next(incoming.records)
            raise Refused("duplicate_case", "refused by the owner")

    monkeypatch.setitem(handlers._receivers, "cases", Refusing())
    with pytest.raises(Refused):
        services.import_cases_package(exported.path, by=people[Role.MANAGER])
    assert not Package.objects.filter(direction=Package.Direction.INCOMING).exists()
    # The real receiver then takes the same file: nothing of the refused attempt stayed.
    monkeypatch.setitem(handlers._receivers, "cases", received_cases)
    result = services.import_cases_package(exported.path, by=people[Role.MANAGER])
    assert result.created == sealed_batch.items.count() == SurveyCase.objects.count()


def test_sending_an_unknown_item_is_refused(people, keys_exchanged, tmp_path):
    with pytest.raises(Refused) as refused:
        services.send_item("cases", 999_999, tmp_path, by=people[Role.WARD_STAFF])
    assert refused.value.code == "no_item"
    with pytest.raises(Refused) as refused:
        services.send_item("no-such-kind", 1, tmp_path, by=people[Role.WARD_STAFF])
    assert refused.value.code == "no_handler"

"""Incidents across installations (S19): the side that recorded an incident sends it as a
signed `incident` package; the other side's Genchi imports it, checks it, and shows it
on its home like one recorded there; a later package adds the steps.

Both sides share one test database, so "the other installation" is played by removing
the sender's rows after its packages are written: the receiving side then holds only
what the packages carried, as a separate Genchi would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.compliance import incidents, package_handlers
from genchi.compliance.models import Incident, IncidentEntry
from genchi.transfer import services as transfer
from genchi.transfer.models import Package
from genchi.transfer.refusals import refusal_message
from tests.fieldwork.world import receive

Step = IncidentEntry.Kind


@pytest.fixture
def received(people, contract, keys_exchanged):
    return receive(people, contract)


def _record(person, contract, refs) -> Incident:
    return incidents.record_incident(
        person,
        contract,
        kind=Incident.Kind.LOSS,
        found_at=timezone.now() - dt.timedelta(hours=1),
        found_by="調査員 一郎",
        summary="調査中の書類一式を電車内に置き忘れた。",
        first_actions="鉄道会社に遺失届を提出。",
        affected_refs=refs,
    )


def _send(incident: Incident, person, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return incidents.send_incident(incident, folder, by=person).path


def _elsewhere(incident: Incident) -> None:
    """The sender's rows live on the sender's Genchi, not on the receiver's."""
    IncidentEntry.objects.filter(incident=incident).delete()
    Incident.objects.filter(pk=incident.pk).delete()


def _import(path: Path, person):
    return transfer.receive_package(path, kind="incident", by=person)


def _refused(path: Path, person) -> transfer.Refused:
    with pytest.raises(transfer.Refused) as refused:
        _import(path, person)
    return refused.value


def test_contractor_to_ward_round_trip_shows_on_the_ward_home(
    received, people, contract, tmp_path, client_for
):
    refs = [c.case_ref for c in received[:2]]
    sent = _record(people[Role.MANAGER], contract, refs)
    path = _send(sent, people[Role.MANAGER], tmp_path / "out")
    package = Package.objects.get(direction="out", kind="incident")
    assert package.sender == contract.contractor and package.recipient == contract.ward
    uid, label = sent.uid, sent.label
    _elsewhere(sent)

    result = _import(path, people[Role.WARD_STAFF])
    assert result.created == 1
    got = Incident.objects.get(uid=uid)
    assert got.side == Incident.Side.CONTRACTOR
    assert got.affected_refs == refs
    assert got.summary == "調査中の書類一式を電車内に置き忘れた。"
    assert got.first_actions == "鉄道会社に遺失届を提出。"
    assert got.kind == Incident.Kind.LOSS and got.found_by == "調査員 一郎"
    assert got.received_version == 0 and got.origin_label == label
    assert got.state == Incident.State.REPORTED
    entry = AuditEntry.objects.get(action="incident.received")
    assert entry.detail["incident_id"] == str(uid) and entry.detail["cases"] == 2
    home = client_for(Role.WARD_STAFF).get("/").content.decode()
    assert got.label in home
    page = client_for(Role.WARD_STAFF).get(f"/incidents/{got.pk}/").content.decode()
    assert refs[0] in page and label in page
    # The ward instructs as for a local incident; it cannot send the contractor's back.
    assert Step.INSTRUCTION in incidents.allowed_steps(people[Role.WARD_STAFF], got)
    assert "incident_send" not in page and f"/incidents/{got.pk}/send/" not in page


def test_a_later_package_adds_the_steps_and_an_older_one_is_refused(
    received, people, contract, tmp_path
):
    manager, staff = people[Role.MANAGER], people[Role.WARD_STAFF]
    sent = _record(manager, contract, [received[0].case_ref])
    first = _send(sent, manager, tmp_path / "v0")
    first_again = _send(sent, manager, tmp_path / "v0b")  # version 0 written twice
    incidents.add_entry(manager, sent, kind=Step.WRITTEN_REPORT, text="書面で報告します。")
    second = _send(sent, manager, tmp_path / "v1")
    uid = sent.uid
    _elsewhere(sent)

    _import(first, staff)
    _import(second, staff)
    got = Incident.objects.get(uid=uid)
    assert Incident.objects.filter(uid=uid).count() == 1  # same id: updated, no duplicate
    assert got.received_version == 1 and got.state == Incident.State.WRITTEN
    step = got.entries.get()
    assert step.kind == Step.WRITTEN_REPORT and step.received and step.text == "書面で報告します。"
    assert step.by_name == (manager.full_name or manager.username)
    assert AuditEntry.objects.filter(action="incident.updated_received").count() == 1

    older = _refused(first_again, staff)
    assert older.code == "incident_outdated"
    assert "第1版" in refusal_message(older) and "第0版" in refusal_message(older)
    replay = _refused(second, staff)
    assert replay.code == "replayed"
    assert got.entries.count() == 1


def test_the_ward_sends_and_the_contractor_receives(received, people, contract, tmp_path):
    refs = [received[1].case_ref]
    sent = _record(people[Role.WARD_STAFF], contract, refs)
    path = _send(sent, people[Role.WARD_STAFF], tmp_path / "out")
    uid = sent.uid
    _elsewhere(sent)
    _import(path, people[Role.MANAGER])
    got = Incident.objects.get(uid=uid)
    assert got.side == Incident.Side.WARD and got.affected_refs == refs


def test_an_incident_of_another_contract_inside_is_refused(
    received, people, contract, tmp_path, monkeypatch
):
    sent = _record(people[Role.MANAGER], contract, [])
    real = package_handlers.incident_record
    monkeypatch.setattr(
        package_handlers, "incident_record", lambda i: {**real(i), "contract": "c2027"}
    )
    path = _send(sent, people[Role.MANAGER], tmp_path / "out")
    _elsewhere(sent)
    refused = _refused(path, people[Role.WARD_STAFF])
    assert refused.code == "incident_other_contract"
    assert "c2027" in refusal_message(refused)
    assert not Incident.objects.exists()
    assert not Package.objects.filter(direction="in", kind="incident").exists()


def test_unknown_references_are_refused_with_them_named(
    received, people, contract, tmp_path, monkeypatch
):
    sent = _record(people[Role.MANAGER], contract, [received[0].case_ref])
    real = package_handlers.incident_record
    monkeypatch.setattr(
        package_handlers,
        "incident_record",
        lambda i: {**real(i), "affected_refs": [received[0].case_ref, "NOPE-999"]},
    )
    path = _send(sent, people[Role.MANAGER], tmp_path / "out")
    _elsewhere(sent)
    refused = _refused(path, people[Role.WARD_STAFF])
    assert refused.code == "incident_refs"
    assert "NOPE-999" in refusal_message(refused)
    assert not Incident.objects.exists()


def test_a_malformed_record_is_refused(received, people, contract, tmp_path, monkeypatch):
    sent = _record(people[Role.MANAGER], contract, [])
    real = package_handlers.incident_record
    monkeypatch.setattr(package_handlers, "incident_record", lambda i: {**real(i), "version": 3})
    path = _send(sent, people[Role.MANAGER], tmp_path / "out")
    _elsewhere(sent)
    assert _refused(path, people[Role.WARD_STAFF]).code == "incident_shape"


def test_a_tampered_package_is_refused(received, people, contract, tmp_path):
    sent = _record(people[Role.MANAGER], contract, [])
    path = _send(sent, people[Role.MANAGER], tmp_path / "out")
    _elsewhere(sent)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    refused = _refused(path, people[Role.WARD_STAFF])
    assert refused.code == "tampered"
    assert not Incident.objects.exists()


def test_on_a_shared_installation_the_package_is_not_needed(received, people, contract, tmp_path):
    sent = _record(people[Role.MANAGER], contract, [])
    path = _send(sent, people[Role.MANAGER], tmp_path / "out")
    refused = _refused(path, people[Role.WARD_STAFF])
    assert refused.code == "incident_here"
    assert sent.label in refusal_message(refused)


def test_a_received_incident_is_not_sent_back(received, people, contract, tmp_path):
    sent = _record(people[Role.MANAGER], contract, [])
    path = _send(sent, people[Role.MANAGER], tmp_path / "out")
    uid = sent.uid
    _elsewhere(sent)
    _import(path, people[Role.WARD_STAFF])
    got = Incident.objects.get(uid=uid)
    with pytest.raises(transfer.Refused) as refused:
        _send(got, people[Role.WARD_STAFF], tmp_path / "back")
    assert refused.value.code == "no_item"


def test_the_page_writes_the_package_and_the_import_page_takes_it(
    received, people, contract, tmp_path, client_for
):
    sent = _record(people[Role.MANAGER], contract, [received[0].case_ref])
    contractor = client_for(Role.MANAGER)
    page = contractor.get(f"/incidents/{sent.pk}/").content.decode()
    assert "区へ送るパッケージを作成" in page
    response = contractor.post(f"/incidents/{sent.pk}/send/")
    assert response.status_code == 302 and "/handover/slips/" in response["Location"]
    package = Package.objects.get(direction="out", kind="incident")
    download = contractor.get(f"/handover/packages/{package.pk}/download/")
    assert download.status_code == 200
    file = tmp_path / package.filename
    file.write_bytes(b"".join(download.streaming_content))
    uid = sent.uid
    _elsewhere(sent)

    ward = client_for(Role.WARD_STAFF)
    assert "事故報告" in ward.get("/handover/import/").content.decode()
    with open(file, "rb") as fh:
        ward.post("/handover/import/", {"package": fh, "kind": "incident"})
    got = Incident.objects.get(uid=uid)
    assert got.label in ward.get("/").content.decode()


def test_the_commands_send_and_import(received, people, contract, tmp_path, capsys):
    sent = _record(people[Role.MANAGER], contract, [received[0].case_ref])
    out = tmp_path / "out"
    out.mkdir()
    call_command("incident", "send", sent.label, "--out", str(out))
    printed = capsys.readouterr().out
    assert sent.label in printed
    packages = list(out.glob("*.genchi.age"))
    assert len(packages) == 1 and (out / f"incident-{sent.label}.pdf").is_file()
    uid = sent.uid
    _elsewhere(sent)
    call_command("incident", "import", str(packages[0]), "--side", "ward")
    assert "取り込みました" in capsys.readouterr().out
    assert Incident.objects.get(uid=uid).received_version == 0
    with pytest.raises(CommandError, match="既に取り込まれています"):
        call_command("incident", "import", str(packages[0]), "--side", "ward")
    with pytest.raises(CommandError, match="ありません"):
        call_command("incident", "send", "nothing-1", "--out", str(out))


def test_each_side_is_offered_the_incidents_it_recorded(received, people, contract):
    from genchi.transfer import selectors as transfer_selectors

    mine = _record(people[Role.MANAGER], contract, [])
    theirs = _record(people[Role.WARD_STAFF], contract, [])
    offered = transfer_selectors.sendable_for(people[Role.MANAGER], "incident")
    assert [item.key for item in offered] == [mine.pk]
    offered = transfer_selectors.sendable_for(people[Role.WARD_STAFF], "incident")
    assert [item.key for item in offered] == [theirs.pk]
    assert offered[0].side == "ward" and offered[0].code == f"INC-{theirs.number:03d}"


def test_the_wards_improvement_order_reaches_the_contractor(received, people, contract, tmp_path):
    staff, manager = people[Role.WARD_STAFF], people[Role.MANAGER]
    sent = _record(staff, contract, [received[0].case_ref])
    first = _send(sent, staff, tmp_path / "v0")
    incidents.add_entry(staff, sent, kind=Step.IMPROVEMENT_ORDER, text="保管方法を改善すること。")
    second = _send(sent, staff, tmp_path / "v1")
    uid = sent.uid
    _elsewhere(sent)
    _import(first, manager)
    _import(second, manager)
    got = Incident.objects.get(uid=uid)
    assert got.state == Incident.State.INSTRUCTED and got.received_version == 1
    assert got.entries.get().kind == Step.IMPROVEMENT_ORDER
    page_steps = incidents.allowed_steps(manager, got)
    assert Step.COMPLETION not in page_steps  # the ward raised it: the ward completes it

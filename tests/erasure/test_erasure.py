"""Erasure with the ward present (C-O7, S11, W-S2): refused before the results are back,
the witness (sign-in or the ward's one-time code), keys first, nothing of the contract
left in the database file, the data folder or the storage, the ward's records whole."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.erasure import selectors, services
from genchi.erasure.models import Erasure
from genchi.fieldwork import photos as photo_store
from genchi.fieldwork.models import SurveyCase, Visit, VisitPhoto
from genchi.intake.models import Case
from genchi.planner.models import AreaProposal, SurveyorBase
from genchi.results.models import ResultPhoto
from genchi.results.receiving import photo_context, photo_storage
from genchi.tablet.models import TabletDevice
from genchi.tablet.services import Refused as TabletRefused
from genchi.tablet.services import refuse_if_revoked
from genchi.transfer import contract_keys
from genchi.vault import keys as vault_keys
from genchi.vault.master import master_key_path
from genchi.vault.models import DataKey
from tests.conftest import PASSWORD, current_code
from tests.erasure.world import survey_to_the_end
from tests.fieldwork.world import ROWS, receive


def _witness_by_code(erasure, people) -> Erasure:
    contract = erasure.contract
    code = services.issue_witness_code(contract, erasure.challenge, by=people[Role.WARD_STAFF])
    return services.confirm_by_code(
        erasure, witness_name="戸山 花子", code=code, by=people[Role.MANAGER]
    )


def test_refused_before_the_results_are_delivered(people, contract, keys_exchanged):
    with pytest.raises(services.ErasureRefused) as refused:
        services.start_erasure(contract, by=people[Role.MANAGER])
    assert refused.value.code == "results_not_delivered"
    assert "受け取っていません" in refused.value.message
    receive(people, contract)
    with pytest.raises(services.ErasureRefused) as refused:
        services.start_erasure(contract, by=people[Role.MANAGER])
    assert "結果をまだ返却していない受領データがあります" in refused.value.message
    assert not Erasure.objects.exists()
    assert AuditEntry.objects.filter(action="erasure.refused").count() == 2


def test_only_the_designated_manager_starts_it(people, contract, keys_exchanged, tmp_path):
    survey_to_the_end(people, contract, tmp_path / "out")
    for role in (Role.HANDLER, Role.WARD_STAFF):
        with pytest.raises(services.ErasureRefused):
            services.start_erasure(contract, by=people[role])
    assert services.start_erasure(contract, by=people[Role.MANAGER]).state == "awaiting"


def test_the_one_time_code_is_the_same_on_both_sides_and_only_for_its_challenge(
    people, contract, keys_exchanged, tmp_path
):
    survey_to_the_end(people, contract, tmp_path / "out")
    erasure = services.start_erasure(contract, by=people[Role.MANAGER])
    ward_code = contract_keys.witness_code(contract, contract.ward, erasure.challenge)
    assert ward_code == contract_keys.witness_code(contract, contract.contractor, erasure.challenge)
    assert ward_code != contract_keys.witness_code(contract, contract.ward, "AAAAAA")
    with pytest.raises(services.ErasureRefused) as wrong:
        services.confirm_by_code(
            erasure,
            witness_name="戸山 花子",
            code=contract_keys.witness_code(contract, contract.ward, "AAAAAA"),
            by=people[Role.MANAGER],
        )
    assert wrong.value.code == "witness_code"
    # A contractor person cannot produce the ward's code.
    with pytest.raises(services.ErasureRefused):
        services.issue_witness_code(contract, erasure.challenge, by=people[Role.MANAGER])
    erasure = _witness_by_code(erasure, people)
    assert erasure.state == "witnessed"
    assert erasure.witnessing == "code"
    assert erasure.witness_name == "戸山 花子"


def test_the_witness_signs_in_with_password_and_second_factor(
    people, contract, keys_exchanged, tmp_path
):
    survey_to_the_end(people, contract, tmp_path / "out")
    erasure = services.start_erasure(contract, by=people[Role.MANAGER])
    staff = people[Role.WARD_STAFF]
    with pytest.raises(services.ErasureRefused):
        services.confirm_by_sign_in(
            erasure,
            username=staff.username,
            password="wrong-password",
            token="000000",
            ip="127.0.0.1",
            by=people[Role.MANAGER],
        )
    # A contractor person may not witness for the ward.
    handler = people[Role.HANDLER]
    with pytest.raises(services.ErasureRefused) as not_ward:
        services.confirm_by_sign_in(
            erasure,
            username=handler.username,
            password=PASSWORD,
            token=current_code(handler),
            ip="127.0.0.1",
            by=people[Role.MANAGER],
        )
    assert not_ward.value.code == "witness_not_ward"
    erasure = services.confirm_by_sign_in(
        erasure,
        username=staff.username,
        password=PASSWORD,
        token=current_code(staff),
        ip="127.0.0.1",
        by=people[Role.MANAGER],
    )
    assert erasure.state == "witnessed"
    assert erasure.witness_user == staff
    assert erasure.witnessing == "sign_in"


def test_erasure_keeps_order_and_records_each_step(people, contract, keys_exchanged, tmp_path):
    # The planner's rows of the contract too: the office base and an area proposal.
    world = survey_to_the_end(people, contract, tmp_path / "out", plan=True)
    assert AreaProposal.objects.filter(contract=contract).exists()
    erasure = _witness_by_code(services.start_erasure(contract, by=people[Role.MANAGER]), people)
    old_master = master_key_path().read_bytes()
    erasure = services.erase(erasure, by=people[Role.MANAGER])
    assert erasure.state == "certified"
    actions = list(
        AuditEntry.objects.filter(seq__gt=0).order_by("seq").values_list("action", flat=True)
    )
    tail = actions[actions.index("erasure.begun") :]
    # keys first, then each app's rows, then the compaction, the new master key, the certificate
    assert tail[1] == "contract.keys_destroyed"
    deleted = [i for i, a in enumerate(tail) if a == "erasure.deleted"]
    assert len(deleted) == 4 and deleted[0] > 1
    assert tail.index("erasure.compacted") > deleted[-1]
    assert tail.index("vault.master_rotated") > tail.index("erasure.compacted")
    assert tail[-1] == "erasure.certified"
    assert master_key_path().read_bytes() != old_master
    cert = erasure.certificate
    assert cert["counts"]["cases"] == len(ROWS)
    assert cert["counts"]["visits"] == len(ROWS)
    assert cert["counts"]["photos"] == len(ROWS)
    assert cert["counts"]["tablets_revoked"] == 1
    assert cert["counts"]["bases"] == 1 and cert["counts"]["area_proposals"] == 1
    assert not SurveyorBase.objects.filter(contract=contract).exists()
    assert not AreaProposal.objects.filter(contract=contract).exists()
    destroyed = set(
        str(k)
        for k in DataKey.objects.filter(destroyed_at__isnull=False).values_list("id", flat=True)
    )
    assert set(cert["destroyed_keys"]) == destroyed and destroyed
    assert cert["log_head"] and cert["log_count"] > 0
    assert cert["witnesses"][0]["name"] == "戸山 花子"
    assert not SurveyCase.objects.filter(contract=contract).exists()
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()
    # The tablet was revoked, not yet in touch: pending, then wiped at its next contact.
    record = selectors.erasure_record(contract)
    assert [t["label"] for t in record.tablets_pending] == ["タブレット1"]
    tablet = TabletDevice.objects.get(pk=world.tablet.pk)
    assert tablet.revoked_at is not None and tablet.wiped_at is None
    with pytest.raises(TabletRefused) as wipe:
        refuse_if_revoked(tablet, ip="127.0.0.1")
    assert wipe.value.wipe
    assert TabletDevice.objects.get(pk=tablet.pk).wiped_at is not None
    # Once erased, no second erasure and no new key for the contractor's side.
    with pytest.raises(services.ErasureRefused):
        services.start_erasure(contract, by=people[Role.MANAGER])
    assert contract_keys.is_erased(contract, contract.contractor)


def _raw_columns(contract) -> list[bytes]:
    """The stored (encrypted) values of the contractor's cases and visits, as in the file."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, address, building_line, postal_code, town, rest, lat, lng "
            "FROM fieldwork_surveycase WHERE contract_id = %s",
            [contract.pk],
        )
        for row in cursor.fetchall():
            found += [_as_bytes(v) for v in row if v]
    return [v for v in found if len(v) >= 24]


def _as_bytes(value) -> bytes:
    return bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()


def _files_under(*roots: Path) -> list[Path]:
    seen = []
    for root in roots:
        if root.is_dir():
            seen += [p for p in root.rglob("*") if p.is_file()]
    return seen


def _scan(needles: list[bytes], roots: list[Path]) -> list[str]:
    hits = []
    for path in _files_under(*roots):
        data = path.read_bytes()
        for needle in needles:
            if needle in data:
                hits.append(f"{path.name}: {needle[:20]!r}")
    return hits


def _pixels(jpeg: bytes) -> bytes:
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.convert("RGB").tobytes()[:4096]


def test_nothing_of_the_contract_is_left_and_the_ward_keeps_its_records(
    _audit_log_flushable, transactional_db, people, contract, keys_exchanged, tmp_path
):
    world = survey_to_the_end(people, contract, tmp_path / "out")
    # What must disappear: names and addresses as text (as stored UTF-8 and as the
    # base64 an encrypted column might be mistaken for), the stored ciphertext of every
    # encrypted column and of every photo file, and the photos' bytes as handed in.
    plain = [s.encode() for row in ROWS for s in (row[1], row[3])]
    stored = _raw_columns(contract)
    photo_files = [
        photo_store.storage().open(p.storage_name).read() for p in VisitPhoto.objects.all()
    ]
    assert stored and len(photo_files) == len(ROWS)
    needles = plain + stored + [f[64:160] for f in photo_files] + [p[200:300] for p in world.photos]
    needles += [base64.b64encode(s)[:32] for s in plain]
    # The ward's copy of the same cases and results, under the ward's own key.
    ward_names = sorted(c.name for c in Case.objects.filter(contract=contract))
    ward_photo = ResultPhoto.objects.select_related("result").first()

    erasure = _witness_by_code(services.start_erasure(contract, by=people[Role.MANAGER]), people)
    erasure = services.erase(erasure, by=people[Role.MANAGER])
    roots = [Path(settings.DATA_DIR), tmp_path]
    if connection.vendor == "sqlite":
        assert "VACUUM" in erasure.certificate["compaction"]
        database = Path(connection.settings_dict["NAME"])
        assert database.is_file()
        roots.append(database.parent)  # the file, its WAL and anything beside it
    else:  # PostgreSQL: the rows are gone; old backups hold only ciphertext of dead keys
        assert "バックアップ" in erasure.certificate["compaction"]
        assert _raw_columns(contract) == []
    hits = _scan(needles, roots)
    assert hits == [], hits

    # The ward's side of the contract is whole: its cases decrypt, its photo opens.
    vault_keys.clear_cache()
    assert sorted(c.name for c in Case.objects.filter(contract=contract)) == ward_names
    assert {row[3] for row in ROWS} <= set(ward_names)
    out = io.BytesIO()
    from genchi import vault

    vault.read_encrypted_file(
        photo_storage(),
        ward_photo.stored_as,
        vault.contract_scope(contract.pk, "ward"),
        photo_context(ward_photo.result, ward_photo.name),
        out,
    )
    assert out.getvalue()[:3] == b"\xff\xd8\xff"


def test_a_failed_run_after_the_rows_is_finished_by_running_again(
    people, contract, keys_exchanged, tmp_path, monkeypatch
):
    survey_to_the_end(people, contract, tmp_path / "out")
    erasure = _witness_by_code(services.start_erasure(contract, by=people[Role.MANAGER]), people)

    def broken():
        raise OSError("disk full")

    monkeypatch.setattr(vault_keys, "rotate_master_key", broken)
    with pytest.raises(OSError):
        services.erase(erasure, by=people[Role.MANAGER])
    erasure.refresh_from_db()
    assert erasure.state == "erased"  # rows gone, certificate not yet
    monkeypatch.undo()
    erasure = services.erase(erasure, by=people[Role.MANAGER])
    assert erasure.state == "certified"

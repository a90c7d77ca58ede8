"""Ward export → contractor import, results back, and every refusal of the bad-input list.

Each refusal test asserts three things: the reason (code), nothing stored, and an audit
entry carrying the code.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import tarfile

import pytest

from genchi.accounts.models import Role
from genchi.audit.chain import verify
from genchi.audit.models import AuditEntry
from genchi.fieldwork.models import SurveyCase
from genchi.intake.models import Batch, Case
from genchi.intake.package_handlers import CASE_ALLOW_LIST
from genchi.package_format import EncryptionKeyPair, Refused, SigningKeyPair, age, write_package
from genchi.package_format.records import blank_result
from genchi.parties import services as party_services
from genchi.parties.models import Contract
from genchi.transfer import contract_keys, orgkeys, services
from genchi.transfer.models import HandoverSlip, Package, StickEvent, UsbStick
from genchi.transfer.refusals import refusal_message
from tests.conftest import make_person
from tests.package_format import crafting
from tests.transfer.handover_world import make_cases, make_sealed_batch

PASSPHRASE = "usb-password-2026-long"


def _export(batch, tmp_path, people, **kw):
    out = tmp_path / "stick"
    out.mkdir(exist_ok=True)
    return services.export_batch(batch, out, by=people[Role.WARD_STAFF], **kw)


def _nothing_stored(before_packages: int) -> None:
    assert SurveyCase.objects.count() == 0
    assert Package.objects.filter(direction=Package.Direction.INCOMING).count() == 0
    assert Package.objects.count() == before_packages


def _refused(code: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action="package.refused").order_by("-seq").first()
    assert entry is not None, "refusal not logged"
    assert entry.detail["code"] == code
    return entry


def test_round_trip(sealed_batch, lent_stick, tmp_path, people, contract):
    result = _export(sealed_batch, tmp_path, people, stick=lent_stick)
    assert result.path.exists() and result.path.name.endswith(".genchi.age")
    assert not [p for p in result.path.parent.iterdir() if p.name.endswith(".part")]
    sealed_batch.refresh_from_db()
    assert sealed_batch.status == Batch.Status.HANDED_OVER
    assert set(Case.objects.values_list("status", flat=True)) == {Case.Status.HANDED_OVER}
    out_slip = result.slip
    assert out_slip.state == HandoverSlip.State.ISSUED
    assert out_slip.record_count == 3 and out_slip.stick_label == "USB-01"
    assert out_slip.receiver_name == "高田 誠"  # the borrower of the stick
    assert out_slip.log_head == AuditEntry.objects.get(seq=out_slip.log_count).entry_hash
    lent_stick.refresh_from_db()
    assert lent_stick.needs_wipe
    assert lent_stick.loans.get().package == result.package
    assert StickEvent.objects.filter(kind=StickEvent.Kind.PACKAGE_WRITTEN).count() == 1

    imported = services.import_cases_package(
        result.path, by=people[Role.MANAGER], giver_name="戸山 花子"
    )
    assert imported.created == 3
    cases = {c.case_ref: c for c in SurveyCase.objects.filter(contract=contract)}
    original = {c.ref: c for c in Case.objects.all()}
    assert set(cases) == set(original)
    for ref, case in cases.items():
        for field in CASE_ALLOW_LIST:
            assert getattr(case, field) == getattr(original[ref], field)
        assert case.received_in == imported.package
    # Stored encrypted under the contract's key (D1).
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT name, address FROM fieldwork_surveycase")
        for name, address in cur.fetchall():
            assert name.startswith("g3:") and address.startswith("g3:")
    slip = imported.slip
    assert slip.state == HandoverSlip.State.RECEIVED
    assert slip.digest == result.package.digest == imported.package.digest
    assert str(slip.package_uuid) == str(result.package.package_id)

    services.confirm_slip(slip, code=slip.qr_text, record_count=3, by=people[Role.MANAGER])
    slip.refresh_from_db()
    assert slip.state == HandoverSlip.State.CONFIRMED
    assert verify().ok


def test_passphrase_round_trip(sealed_batch, tmp_path, people):
    result = _export(sealed_batch, tmp_path, people, passphrase=PASSPHRASE)
    assert result.package.passphrase_protected
    # Our passphrase packages ask the work factor the import page accepts, no more.
    with open(result.path, "rb") as fh:
        [stanza] = age.read_header(age._HashingSource(fh)).stanzas
    assert stanza.type == "scrypt"
    assert int(stanza.args[1]) == services.WEB_MAX_SCRYPT_WORK_FACTOR
    imported = services.import_cases_package(
        result.path, by=people[Role.HANDLER], passphrase=PASSPHRASE
    )
    assert imported.created == 3


def test_export_refuses_unsealed_batch_and_logs(people, contract, keys_exchanged, tmp_path):
    batch = make_sealed_batch(contract, make_cases(contract))
    batch.status = Batch.Status.DRAFT
    batch.save()
    with pytest.raises(Refused) as exc:
        _export(batch, tmp_path, people)
    assert exc.value.code == "batch_not_sealed"
    assert Package.objects.count() == 0
    assert not list((tmp_path / "stick").iterdir())
    assert AuditEntry.objects.filter(
        action="package.export_refused", detail__code="batch_not_sealed"
    ).exists()


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        ("statvfs", "出力先の空き容量が足りません (必要"),
        ("enospc", "出力先の空き容量が足りません"),
        ("eio", "USBメモリが抜かれたか、故障しています"),
    ],
)
def test_export_to_a_full_or_failing_stick_is_refused_in_words(
    sealed_batch, tmp_path, people, monkeypatch, failure, words
):
    """A stick too small is refused before a byte is written; one that fills up or fails
    midway gives a Japanese reason (no traceback), and the batch stays sealed with no
    package recorded and no file left."""
    from genchi.package_format import age as age_module
    from genchi.package_format import writer as writer_module

    if failure == "statvfs":
        real = os.statvfs(tmp_path)
        tiny = os.statvfs_result((*real[:4], 1, *real[5:]))  # one free block
        monkeypatch.setattr(writer_module.os, "statvfs", lambda path: tiny)
    else:
        code = {"enospc": errno.ENOSPC, "eio": errno.EIO}[failure]

        def failing(fd, data, offset):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(age_module, "_pwrite_all", failing)
    with pytest.raises(Refused) as exc:
        _export(sealed_batch, tmp_path, people)
    assert exc.value.code == "write_failed"
    assert words in refusal_message(exc.value)
    sealed_batch.refresh_from_db()
    assert sealed_batch.status == Batch.Status.SEALED
    assert Package.objects.count() == 0
    assert not list((tmp_path / "stick").iterdir())


def test_export_refuses_stick_not_wiped(sealed_batch, stick, tmp_path, people):
    stick.needs_wipe = True
    stick.save()
    with pytest.raises(services.Refusal) as exc:
        _export(sealed_batch, tmp_path, people, stick=stick)
    assert exc.value.code == "stick_not_wiped"


def test_export_rechecks_the_stick_under_lock(sealed_batch, stick, people, tmp_path):
    stale = UsbStick.objects.get(pk=stick.pk)  # read before another export wrote to it
    UsbStick.objects.filter(pk=stick.pk).update(needs_wipe=True)
    with pytest.raises(services.Refusal) as exc:
        _export(sealed_batch, tmp_path, people, stick=stale)
    assert exc.value.code == "stick_not_wiped"
    assert not list((tmp_path / "stick").iterdir())
    sealed_batch.refresh_from_db()
    assert sealed_batch.status == Batch.Status.SEALED
    assert not Package.objects.exists()


def test_export_refuses_contractor_person(sealed_batch, tmp_path, people):
    out = tmp_path / "o"
    out.mkdir()
    with pytest.raises(Refused):
        services.export_batch(sealed_batch, out, by=people[Role.MANAGER])
    assert Package.objects.count() == 0


def test_export_twice_is_refused(sealed_batch, tmp_path, people):
    _export(sealed_batch, tmp_path, people)
    sealed_batch.refresh_from_db()
    with pytest.raises(Refused) as exc:
        _export(sealed_batch, tmp_path, people)
    assert exc.value.code == "batch_not_sealed"


# --- bad input: every refusal -------------------------------------------------------------


def _import(path, people, **kw):
    return services.import_cases_package(path, by=people[Role.MANAGER], **kw)


def test_wrong_identity(people, ward, contractor, contract, keys_exchanged, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    written = write_package(  # encrypted to a key this Genchi does not hold
        kind="cases",
        contract=contract.code,
        sender=ward.code,
        recipient=contractor.code,
        records=crafting.RECORDS,
        signing_key=orgkeys.secret_keys(ward).signing,
        out_dir=out,
        recipients=[EncryptionKeyPair.generate().recipient],
    )
    before = Package.objects.count()
    with pytest.raises(Refused) as exc:
        _import(written.path, people)
    assert exc.value.code == "wrong_key"
    _nothing_stored(before)
    _refused("wrong_key")


def test_wrong_passphrase(sealed_batch, tmp_path, people):
    result = _export(sealed_batch, tmp_path, people, passphrase=PASSPHRASE)
    before = Package.objects.count()
    with pytest.raises(Refused) as exc:
        _import(result.path, people, passphrase="not-the-password-at-all")
    assert exc.value.code == "wrong_key"
    assert exc.value.reason == "wrong_passphrase"
    assert "パスワード" in refusal_message(exc.value)
    _nothing_stored(before)
    _refused("wrong_key")


@pytest.mark.parametrize("where", [0.5, 0.99])
def test_flipped_byte(exported, people, where):
    data = bytearray(exported.path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    exported.path.write_bytes(bytes(data))
    before = Package.objects.count()
    with pytest.raises(Refused) as exc:
        _import(exported.path, people)
    assert exc.value.code == "tampered"
    _nothing_stored(before)
    _refused("tampered")


def test_flipped_header_byte(exported, people):
    data = bytearray(exported.path.read_bytes())
    data[60] ^= 0x01  # inside the age header's recipient stanza
    exported.path.write_bytes(bytes(data))
    with pytest.raises(Refused) as exc:
        _import(exported.path, people)
    assert exc.value.code in {"tampered", "wrong_key", "unknown_format"}
    _nothing_stored(1)


def test_truncated(exported, people):
    data = exported.path.read_bytes()
    exported.path.write_bytes(data[: len(data) - 5000])
    with pytest.raises(Refused) as exc:
        _import(exported.path, people)
    assert exc.value.code == "truncated"
    _nothing_stored(1)
    _refused("truncated")


def test_replayed(exported, people):
    _import(exported.path, people)
    count = SurveyCase.objects.count()
    with pytest.raises(Refused) as exc:
        _import(exported.path, people)
    assert exc.value.code == "replayed"
    assert SurveyCase.objects.count() == count
    assert Package.objects.filter(direction=Package.Direction.INCOMING).count() == 1
    _refused("replayed")


def test_other_contract(people, ward, contractor, keys_exchanged, contract, tmp_path):
    other = party_services.create_contract(
        code="c2027",
        title="別契約",
        ward=ward,
        contractor=contractor,
        fiscal_year=2027,
        starts_on=dt.date(2027, 6, 1),
        ends_on=dt.date(2028, 3, 31),
        status=Contract.Status.ACTIVE,
    )
    contract_keys.exchange_demo_cards(other)
    batch = make_sealed_batch(other, make_cases(other))
    result = _export(batch, tmp_path, people)
    before = Package.objects.count()
    # A package of contract c2027 does not open under contract c2026's recipient key.
    with pytest.raises(Refused) as exc:
        _import(result.path, people, contract_code=contract.code)
    assert exc.value.code == "wrong_key"
    _nothing_stored(before)
    _refused("wrong_key")
    # One written to the organisation key (before contract keys) opens, and is refused
    # for naming the other contract.
    out = tmp_path / "legacy"
    out.mkdir()
    legacy = write_package(
        kind="cases",
        contract=other.code,
        sender=ward.code,
        recipient=contractor.code,
        records=crafting.RECORDS,
        signing_key=orgkeys.secret_keys(ward).signing,
        out_dir=out,
        recipients=[orgkeys.own_card(contractor).age_recipient],
    )
    with pytest.raises(Refused) as exc:
        _import(legacy.path, people, contract_code=contract.code)
    assert exc.value.code == "wrong_contract"
    _nothing_stored(before)


def test_contract_unknown_here(people, ward, contractor, keys_exchanged, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    written = write_package(
        kind="cases",
        contract="somewhere-else",
        sender=ward.code,
        recipient=contractor.code,
        records=crafting.RECORDS,
        signing_key=orgkeys.secret_keys(ward).signing,
        out_dir=out,
        recipients=[orgkeys.own_card(contractor).age_recipient],
    )
    with pytest.raises(Refused) as exc:
        _import(written.path, people)
    assert exc.value.code == "wrong_contract"
    _nothing_stored(0)
    _refused("wrong_contract")


def test_other_recipient(people, ward, contract, keys_exchanged, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    written = write_package(
        kind="cases",
        contract=contract.code,
        sender=ward.code,
        recipient="another-servicer",
        records=crafting.RECORDS,
        signing_key=orgkeys.secret_keys(ward).signing,
        out_dir=out,
        passphrase=PASSPHRASE,
        scrypt_work_factor=10,
    )
    with pytest.raises(Refused) as exc:
        _import(written.path, people, passphrase=PASSPHRASE)
    assert exc.value.code == "wrong_recipient"
    _nothing_stored(0)
    _refused("wrong_recipient")


def _crafted(tmp_path, ward, contractor, contract, *, name="x.genchi.age", **kw):
    signing = kw.pop("signing", orgkeys.secret_keys(ward).signing)
    jsonl, csv = crafting.record_members()
    members = kw.pop("members", [("records.jsonl", jsonl), ("records.csv", csv)])
    manifest = crafting.manifest_for(
        contract=contract.code,
        sender=ward.code,
        recipient=contractor.code,
        signing=signing,
        members=kw.pop("listed", members),
        record_count=kw.pop("record_count", None),
        lie_hash=kw.pop("lie_hash", False),
    )
    extra = kw.pop("extra", members)
    data = crafting.signed_tar(manifest, signing, extra, sign=kw.pop("sign", True))
    return crafting.encrypt_to(tmp_path / name, data, orgkeys.own_card(contractor).age_recipient)


@pytest.mark.parametrize(
    ("variant", "code"),
    [
        ("traversal", "path_traversal"),
        ("symlink", "link_member"),
        ("hardlink", "link_member"),
        ("count", "count_mismatch"),
        ("hash", "hash_mismatch"),
        ("missing", "missing_member"),
        ("unsigned", "unsigned"),
        ("wrong_signer", "bad_signature"),
        ("extra", "unexpected_member"),
    ],
)
def test_hostile_archives(
    variant, code, people, ward, contractor, contract, keys_exchanged, tmp_path
):
    jsonl, csv = crafting.record_members()
    good = [("records.jsonl", jsonl), ("records.csv", csv)]
    kw: dict = {}
    if variant == "traversal":
        kw["extra"] = [("../../etc/cron.d/evil", b"x"), *good]
    elif variant == "symlink":
        kw["extra"] = [("records.jsonl", b"", tarfile.SYMTYPE, "/etc/passwd"), ("records.csv", csv)]
    elif variant == "hardlink":
        kw["extra"] = [
            ("records.jsonl", b"", tarfile.LNKTYPE, "manifest.json"),
            ("records.csv", csv),
        ]
    elif variant == "count":
        kw["record_count"] = 2
    elif variant == "hash":
        kw["lie_hash"] = True
    elif variant == "missing":
        kw["extra"] = good[:1]
    elif variant == "unsigned":
        kw["sign"] = False
    elif variant == "wrong_signer":
        kw["signing"] = SigningKeyPair.generate()
    elif variant == "extra":
        kw["extra"] = [*good, ("photos/x.jpg", b"\xff\xd8")]
    path = _crafted(tmp_path, ward, contractor, contract, **kw)
    with pytest.raises(Refused) as exc:
        _import(path, people)
    assert exc.value.code == code, str(exc.value)
    assert refusal_message(exc.value)  # in words
    _nothing_stored(0)
    _refused(code)


def test_crafted_good_package_is_accepted(
    people, ward, contractor, contract, keys_exchanged, tmp_path
):
    # The hostile variants above differ from this one only in what they break.
    path = _crafted(tmp_path, ward, contractor, contract)
    assert _import(path, people).created == 1


def test_handler_of_other_org_cannot_import(exported, people, ward):
    from tests.conftest import make_person

    stranger = make_person("w-staff2", ward, Role.WARD_STAFF)
    with pytest.raises(Refused):
        services.import_cases_package(exported.path, by=stranger)
    _nothing_stored(1)


def test_undesignated_contractor_person_cannot_import(exported, people, contractor):
    outsider = make_person("c-handler-x", contractor, Role.HANDLER)  # same company, not designated
    with pytest.raises(Refused) as exc:
        services.import_cases_package(exported.path, by=outsider)
    assert exc.value.code == "not_designated"
    assert "指定" in refusal_message(exc.value)
    _nothing_stored(1)
    assert AuditEntry.objects.filter(action="package.refused").exists()
    # The designated manager still can.
    assert services.import_cases_package(exported.path, by=people[Role.MANAGER]).created == 3


def test_missing_file_is_refused(people, tmp_path, keys_exchanged):
    with pytest.raises(Refused) as exc:
        _import(tmp_path / "nothing.genchi.age", people)
    assert exc.value.code == "no_file"
    _refused("no_file")


def test_no_partner_card(exported, people, contractor, ward):
    orgkeys.PartnerKeyCard.objects.filter(holder=contractor).delete()
    with pytest.raises(Refused) as exc:
        _import(exported.path, people)
    assert exc.value.code == "no_partner_card"
    _nothing_stored(1)
    _refused("no_partner_card")


# --- the way back: results --------------------------------------------------------------


RESULTS = [
    blank_result("ref-0001", "resident_confirmed") | {"visit_count": 2, "nameplate": "taxpayer"},
    blank_result("ref-0002", "not_resident") | {"visit_count": 3, "landlord": '=HYPERLINK("x")'},
]


def test_results_round_trip(people, contract, keys_exchanged, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    written = services.export_results_package(
        contract, RESULTS, out, by=people[Role.MANAGER], stick_label="USB-01"
    )
    assert written.slip.direction == HandoverSlip.Direction.CONTRACTOR_TO_WARD
    assert written.slip.state == HandoverSlip.State.ISSUED
    contents = services.verify_results_package(written.path, by=people[Role.WARD_STAFF])
    assert [r["case_ref"] for r in contents.records] == ["ref-0001", "ref-0002"]
    assert contents.records[1]["landlord"] == '=HYPERLINK("x")'  # JSON keeps data as is
    assert AuditEntry.objects.filter(action="package.verified").exists()


def test_results_outside_the_allow_list_are_refused_when_written(
    people, contract, keys_exchanged, tmp_path
):
    out = tmp_path / "r"
    out.mkdir()
    leaking = [RESULTS[0] | {"interview": "本人と面談"}]
    with pytest.raises(Refused) as exc:
        services.export_results_package(contract, leaking, out, by=people[Role.MANAGER])
    assert exc.value.code == "write_failed"
    assert "interview" in str(exc.value)
    assert not [p for p in out.iterdir() if p.is_file()]


def test_results_refused_when_flipped_or_cases_kind(people, contract, keys_exchanged, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    written = services.export_results_package(contract, RESULTS, out, by=people[Role.MANAGER])
    data = bytearray(written.path.read_bytes())
    data[len(data) // 2] ^= 0x80
    written.path.write_bytes(bytes(data))
    with pytest.raises(Refused) as exc:
        services.verify_results_package(written.path, by=people[Role.WARD_STAFF])
    assert exc.value.code == "tampered"
    _refused("tampered")


def test_results_from_wrong_signer(people, ward, contractor, contract, keys_exchanged, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    written = write_package(
        kind="results",
        contract=contract.code,
        sender=contractor.code,
        recipient=ward.code,
        records=RESULTS,
        signing_key=SigningKeyPair.generate(),
        out_dir=out,
        recipients=[orgkeys.own_card(ward).age_recipient],
        csv_columns=services.RESULT_COLUMNS,
    )
    with pytest.raises(Refused) as exc:
        services.verify_results_package(written.path, by=people[Role.WARD_STAFF])
    assert exc.value.code == "bad_signature"


def test_undesignated_contractor_person_cannot_send_results(
    people, contract, contractor, keys_exchanged, tmp_path
):
    outsider = make_person("c-manager-x", contractor, Role.MANAGER)
    out = tmp_path / "r"
    out.mkdir()
    with pytest.raises(Refused) as exc:
        services.export_results_package(contract, RESULTS, out, by=outsider)
    assert exc.value.code == "not_designated"
    assert not list(out.iterdir())


def test_inspect_never_reads_records(exported):
    inspection = services.inspect_file(exported.path)
    assert inspection.opened_as == "servicer"
    assert inspection.info.signature == "valid"
    assert inspection.info.manifest.record_count == 3
    assert os.path.getsize(exported.path) == inspection.info.size

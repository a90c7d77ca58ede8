"""Hostile packages through the command line and the import page (issue 12): every
hand-built case of the probe ends as a refusal in words, with its code, exit status 1 on
the command line, a refused job on the page: never a traceback, a 500 or a server-error
log entry. A damaged later chunk is never shown as valid by `package inspect`."""

from __future__ import annotations

import json
import logging
import re

import pytest

from genchi.accounts.models import Role
from genchi.fieldwork.models import SurveyCase
from genchi.jobs.models import JobState
from genchi.package_format import age, generate_organisation_keys, write_package
from genchi.transfer import orgkeys, services
from genchi.transfer.models import HandoverJob, Package
from tests.package_format import crafting
from tests.transfer.test_cli import genchi

JAPANESE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")
PASSPHRASE = "usb-password-2026-long"

# name -> the words the refusal is shown with (Japanese), for the manifest cases
MANIFEST_WORDS = {
    "nan": "数値が不正です",
    "infinity": "数値が不正です",
    "minus_infinity": "数値が不正です",
    "long_integer": "数値が不正です",
    "huge_exponent": "数値が不正です",
    "deep_nesting": "入れ子が深すぎます",
    "huge": "manifest.json が大きすぎます",
}
HEADER_WORDS = "ヘッダーに、上限より長い項目があります"


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def hostile_manifest_package(folder, name, ward, contractor, contract, *, signing=None):
    """A package to the contractor whose manifest carries the fault `name`
    (crafting.HOSTILE_MANIFESTS), signed by the ward's registered key unless `signing`."""
    signing = signing or orgkeys.secret_keys(ward).signing
    jsonl, csv = crafting.record_members()
    members = [("records.jsonl", jsonl), ("records.csv", csv)]
    manifest = crafting.manifest_for(
        contract=contract.code,
        sender=ward.code,
        recipient=contractor.code,
        signing=signing,
        members=members,
    )
    edit, _reason = crafting.HOSTILE_MANIFESTS[name]
    data = edit(manifest.to_bytes())
    archive = crafting.tar(
        [("manifest.json", data), ("manifest.sig", signing.private_key.sign(data)), *members]
    )
    folder.mkdir(exist_ok=True)
    recipient = orgkeys.own_card(contractor).age_recipient
    return crafting.encrypt_to(folder / f"{name}.genchi.age", archive, recipient)


def hostile_header_package(folder, stanzas: bytes):
    folder.mkdir(exist_ok=True)
    path = folder / "header.genchi.age"
    path.write_bytes(crafting.age_with_header(stanzas))
    return path


def passphrase_file(tmp_path):
    path = tmp_path / "passphrase.txt"
    path.write_text(PASSPHRASE + "\n")
    return str(path)


def assert_refused_on_the_command_line(result, words: str, code: str) -> None:
    status, _out, err = result
    assert status == 1, err
    assert "Traceback" not in err and words in err and f"[{code}]" in err, err


def import_through_the_page(client, path, caplog, **form):
    """Upload `path` on the import page; the refused job, and the page that shows it."""
    with caplog.at_level(logging.WARNING), open(path, "rb") as fh:
        response = client.post("/handover/import/", {"package": fh, **form})
    assert response.status_code == 302, response.content.decode()[:500]
    job = HandoverJob.objects.filter(direction=HandoverJob.Direction.IMPORT).latest("id")
    assert response["Location"] == f"/handover/jobs/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert job.job_state == JobState.REFUSED, (job.job_state, job.job_message)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]  # a refusal, not a server error
    assert SurveyCase.objects.count() == 0 and not Package.objects.exists()
    return job, page.content.decode()


# --- hostile manifests -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MANIFEST_WORDS))
def test_hostile_manifest_on_the_command_line(
    name, ward, contractor, contract, keys_exchanged, people, tmp_path
):
    path = hostile_manifest_package(tmp_path / "stick", name, ward, contractor, contract)
    words = MANIFEST_WORDS[name]
    imported = genchi("package", "import", str(path), "--user", "c-manager")
    assert_refused_on_the_command_line(imported, words, "unknown_format")
    inspected = genchi("package", "inspect", str(path))
    assert_refused_on_the_command_line(inspected, words, "unknown_format")
    assert SurveyCase.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MANIFEST_WORDS))
def test_hostile_manifest_on_the_import_page(
    name, ward, contractor, contract, keys_exchanged, client_for, tmp_path, caplog
):
    path = hostile_manifest_package(tmp_path / "stick", name, ward, contractor, contract)
    job, page = import_through_the_page(client_for(Role.MANAGER), path, caplog)
    assert job.job_outcome == "unknown_format"
    assert MANIFEST_WORDS[name] in page and MANIFEST_WORDS[name] in job.job_message


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["nan", "deep_nesting", "long_integer"])
def test_hostile_manifest_no_trusted_key_signed_is_refused_before_parsing(
    name, ward, contractor, contract, keys_exchanged, client_for, tmp_path, caplog, monkeypatch
):
    from genchi.package_format import reader

    stranger = generate_organisation_keys("STRANGER", "知らない組織").signing
    path = hostile_manifest_package(
        tmp_path / "stick", name, ward, contractor, contract, signing=stranger
    )

    def never(data: bytes):
        raise AssertionError("an unverified manifest was parsed")

    monkeypatch.setattr(reader, "parse_manifest", never)
    imported = genchi("package", "import", str(path), "--user", "c-manager")
    assert_refused_on_the_command_line(imported, "署名", "bad_signature")
    job, page = import_through_the_page(client_for(Role.MANAGER), path, caplog)
    assert job.job_outcome == "bad_signature" and "署名" in page


# --- hostile age headers -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "stanzas",
    [
        crafting.scrypt_stanza(b"9" * 5000),
        crafting.scrypt_stanza(b"1" * 100),
        b"-> scrypt " + b"A" * 3000 + b" 18\n" + b"A" * 43 + b"\n",
        b"-> other" + b" a" * 20 + b"\n\n",
        b"-> other\n" + (b"A" * 64 + b"\n") * 200 + b"\n",
    ],
    ids=["work_factor_5000_digits", "work_factor_100_digits", "long_salt", "many_args", "body"],
)
def test_over_long_header_fields_on_the_command_line_and_the_page(
    stanzas, contractor, keys_exchanged, people, client_for, tmp_path, caplog
):
    path = hostile_header_package(tmp_path / "stick", stanzas)
    secret = passphrase_file(tmp_path)
    imported = genchi("package", "import", str(path), "--passphrase-file", secret)
    assert_refused_on_the_command_line(imported, HEADER_WORDS, "unknown_format")
    inspected = genchi("package", "inspect", str(path), "--passphrase-file", secret)
    assert_refused_on_the_command_line(inspected, HEADER_WORDS, "unknown_format")
    job, page = import_through_the_page(
        client_for(Role.MANAGER), path, caplog, passphrase=PASSPHRASE
    )
    assert job.job_outcome == "unknown_format" and HEADER_WORDS in page


@pytest.mark.django_db
def test_the_page_asks_at_most_the_work_factor_of_our_packages(
    contractor, keys_exchanged, client_for, tmp_path, caplog
):
    """One above ours is refused before the passphrase is tried (no 512 MiB asked of the
    server), in words naming both; the command line accepts a little more, not 22."""
    ours = services.WEB_MAX_SCRYPT_WORK_FACTOR
    assert ours == age.DEFAULT_SCRYPT_WORK_FACTOR < services.COMMAND_MAX_SCRYPT_WORK_FACTOR
    assert services.COMMAND_MAX_SCRYPT_WORK_FACTOR < age.MAX_SCRYPT_WORK_FACTOR
    above = str(ours + 1).encode()
    path = hostile_header_package(tmp_path / "stick", crafting.scrypt_stanza(above))
    job, page = import_through_the_page(
        client_for(Role.MANAGER), path, caplog, passphrase=PASSPHRASE
    )
    assert job.job_outcome == "unknown_format"
    assert f"2^{ours + 1}" in page and f"2^{ours})" in page
    beyond = services.COMMAND_MAX_SCRYPT_WORK_FACTOR + 1
    path.write_bytes(crafting.age_with_header(crafting.scrypt_stanza(str(beyond).encode())))
    imported = genchi(
        "package", "import", str(path), "--passphrase-file", passphrase_file(tmp_path)
    )
    assert_refused_on_the_command_line(
        imported, f"2^{services.COMMAND_MAX_SCRYPT_WORK_FACTOR})", "unknown_format"
    )


# --- inspection of a damaged later chunk -------------------------------------------------------

MANY = [dict(crafting.RECORDS[0], case_ref=f"ref-{i:05d}") for i in range(1500)]


@pytest.mark.django_db
def test_inspect_does_not_call_a_package_with_a_damaged_later_chunk_valid(
    ward, contractor, contract, keys_exchanged, tmp_path
):
    out = tmp_path / "stick"
    out.mkdir()
    written = write_package(
        kind="cases",
        contract=contract.code,
        sender=ward.code,
        recipient=contractor.code,
        records=MANY,
        signing_key=orgkeys.secret_keys(ward).signing,
        out_dir=out,
        recipients=[orgkeys.own_card(contractor).age_recipient],
    )
    status, text, err = genchi("package", "inspect", str(written.path))
    assert status == 0, err
    assert "マニフェストの署名: 有効" in text and "内容:       検証済み" in text
    assert f"ダイジェスト: {written.digest}\n" in text

    data = bytearray(written.path.read_bytes())
    assert len(data) > 2 * age.ENCRYPTED_CHUNK_SIZE  # the manifest is in the first chunk
    data[-100] ^= 1
    written.path.write_bytes(bytes(data))
    status, text, err = genchi("package", "inspect", str(written.path))
    assert status == 0 and "Traceback" not in err
    assert "マニフェストの署名: 有効" in text  # the manifest's signature is valid …
    assert "内容:       不正" in text and "[tampered]" in text  # … the rest is not
    assert "取り込めません" in text and "検証済み" not in text
    assert f"ダイジェスト: {written.digest}\n" not in text  # never shown as the slip's
    summary = json.loads(genchi("package", "inspect", str(written.path), "--json")[1])
    assert (summary["signature"], summary["content"], summary["content_refusal"]) == (
        "valid",
        "invalid",
        "tampered",
    )


@pytest.mark.django_db
def test_inspect_calls_a_manifest_signed_by_another_organisation_invalid(
    ward, contractor, contract, keys_exchanged, people, tmp_path
):
    """Signed with a key trusted here, but not the key of the sender it names."""
    out = tmp_path / "stick"
    out.mkdir()
    written = write_package(
        kind="cases",
        contract=contract.code,
        sender=ward.code,
        recipient=contractor.code,
        records=crafting.RECORDS,
        signing_key=orgkeys.secret_keys(contractor).signing,
        out_dir=out,
        recipients=[orgkeys.own_card(contractor).age_recipient],
    )
    summary = json.loads(genchi("package", "inspect", str(written.path), "--json")[1])
    assert (summary["signature"], summary["content"]) == ("invalid", "not_checked")
    status, text, _ = genchi("package", "inspect", str(written.path))
    assert status == 0 and "マニフェストの署名: 無効" in text and "内容:       未検証" in text
    imported = genchi("package", "import", str(written.path), "--user", "c-manager")
    assert_refused_on_the_command_line(imported, "署名", "bad_signature")

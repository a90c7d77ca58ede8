"""The erasure certificate (S12, C-O7): the PDF, the signed `certificate` package, the
ward's verification that closes the contract, and every refusal with its reason."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from genchi.accounts.models import Role
from genchi.erasure import selectors, services
from genchi.erasure.certificate import certificate_pdf
from genchi.erasure.models import Erasure, ReceivedCertificate
from genchi.parties.models import Contract
from genchi.transfer import services as transfer
from genchi.transfer.models import Package
from genchi.transfer.refusals import refusal_message
from tests.erasure.world import survey_to_the_end
from tests.fieldwork.world import ROWS


def _erased(people, contract, folder: Path) -> Erasure:
    survey_to_the_end(people, contract, folder / "results")
    erasure = services.start_erasure(contract, by=people[Role.MANAGER])
    code = services.issue_witness_code(contract, erasure.challenge, by=people[Role.WARD_STAFF])
    erasure = services.confirm_by_code(
        erasure, witness_name="戸山 花子", code=code, by=people[Role.MANAGER]
    )
    return services.erase(erasure, by=people[Role.MANAGER])


def _package(erasure, people, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return services.write_certificate_package(erasure, folder, by=people[Role.MANAGER]).path


def _verify(path: Path, people):
    return transfer.receive_package(path, kind="certificate", by=people[Role.WARD_STAFF])


def _refused(path: Path, people) -> transfer.Refused:
    with pytest.raises(transfer.Refused) as refused:
        _verify(path, people)
    return refused.value


def test_the_ward_verifies_the_certificate_and_the_contract_closes(
    people, contract, keys_exchanged, tmp_path
):
    erasure = _erased(people, contract, tmp_path)
    path = _package(erasure, people, tmp_path / "cert")
    erasure.refresh_from_db()
    assert erasure.package.kind == "certificate"
    result = _verify(path, people)
    assert result.created == 1
    contract.refresh_from_db()
    assert contract.status == Contract.Status.CLOSED
    received = ReceivedCertificate.objects.get(contract=contract)
    assert str(received.certificate_id) == str(erasure.certificate_id)
    record = selectors.erasure_record(contract)
    assert record.verified and record.erased
    assert record.verified_certificate_id == str(erasure.certificate_id)
    assert record.counts["cases"] == len(ROWS)
    # Replay: the same file again is refused by the handover's replay guard.
    again = _refused(path, people)
    assert again.code == "replayed"


def test_the_pdf_names_the_contract_keys_witness_and_log_head(
    people, contract, keys_exchanged, tmp_path
):
    erasure = _erased(people, contract, tmp_path)
    data = certificate_pdf(erasure.certificate)
    assert data.startswith(b"%PDF")
    out = tmp_path / "c.pdf"
    out.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "消去証明書" in text
    assert "令和" in text
    assert contract.code in text
    assert "戸山 花子" in text
    assert erasure.certificate["destroyed_keys"][0] in text
    assert erasure.certificate["log_head"][:32] in text
    assert "押印欄" in text and "区 立会者" in text
    assert "次回接続時に消去" in text  # the tablet not in touch yet


def _tampered_certificate(erasure, people, folder: Path, change) -> Path:
    """A certificate package with changed content, signed by the contractor (its Genchi
    wrote it): what a wrong or forged certificate from the right signer looks like."""
    data = json.loads(json.dumps(erasure.certificate))
    change(data)
    Erasure.objects.filter(pk=erasure.pk).update(certificate=data)
    erasure.refresh_from_db()
    return _package(erasure, people, folder)


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (
            lambda d: d["counts"].update(cases=d["counts"]["cases"] - 1),
            "certificate_counts",
            "件数",
        ),
        (
            lambda d: d["packages_received"][0].update(
                package_id="0" * 8 + d["packages_received"][0]["package_id"][8:]
            ),
            "certificate_packages",
            "受領パッケージ",
        ),
        (lambda d: d["results_returned"].clear(), "certificate_results", "結果"),
        (lambda d: d.update(contract="other-contract"), "certificate_other_contract", "別の契約"),
        (lambda d: d.pop("counts"), "certificate_shape", "読み取れません"),
    ],
)
def test_a_certificate_that_does_not_match_is_refused_with_the_reason(
    people, contract, keys_exchanged, tmp_path, change, code, words
):
    erasure = _erased(people, contract, tmp_path)
    path = _tampered_certificate(erasure, people, tmp_path / "cert", change)
    refused = _refused(path, people)
    assert refused.code == code
    assert words in refusal_message(refused)
    contract.refresh_from_db()
    assert contract.status != Contract.Status.CLOSED
    assert not ReceivedCertificate.objects.exists()
    assert not Package.objects.filter(holder=contract.ward, kind="certificate").exists()


def test_a_certificate_of_another_contract_is_refused(
    people, contract, keys_exchanged, tmp_path, ward, contractor
):
    """The package of one contract, with the certificate of another inside, is refused
    even though its signature is good."""
    erasure = _erased(people, contract, tmp_path)
    refused_other = _tampered_certificate(
        erasure, people, tmp_path / "cert", lambda d: d.update(contract="c2027")
    )
    refused = _refused(refused_other, people)
    assert refused.code == "certificate_other_contract"
    assert "c2027" in refusal_message(refused)


def test_a_wrong_signature_is_refused(people, contract, keys_exchanged, tmp_path):
    erasure = _erased(people, contract, tmp_path)
    path = _package(erasure, people, tmp_path / "cert")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1  # one bit of the encrypted, signed package
    path.write_bytes(bytes(data))
    refused = _refused(path, people)
    assert refused.code == "tampered"
    assert refusal_message(refused)
    contract.refresh_from_db()
    assert contract.status != Contract.Status.CLOSED


def test_a_package_signed_by_another_key_is_refused(people, contract, keys_exchanged, tmp_path):
    """The contractor's signing key is replaced after the ward registered its card: the
    certificate it then signs does not verify against the card the ward holds."""
    from genchi.transfer import orgkeys

    erasure = _erased(people, contract, tmp_path)
    orgkeys.create_key_pair(contract.contractor, replace=True)
    path = _package(erasure, people, tmp_path / "cert")
    refused = _refused(path, people)
    assert refused.code == "bad_signature", refused.code
    assert ReceivedCertificate.objects.count() == 0


def test_a_second_certificate_for_a_closed_contract_is_refused(
    people, contract, keys_exchanged, tmp_path
):
    erasure = _erased(people, contract, tmp_path)
    _verify(_package(erasure, people, tmp_path / "cert"), people)
    # The contractor writes the same certificate again as a new package (a new package id).
    Erasure.objects.filter(pk=erasure.pk).update(package=None)
    erasure.refresh_from_db()
    refused = _refused(_package(erasure, people, tmp_path / "cert2"), people)
    assert refused.code == "certificate_already"


def test_the_commands_list_erase_and_verify(people, contract, keys_exchanged, tmp_path, capsys):
    survey_to_the_end(people, contract, tmp_path / "results")
    out = tmp_path / "cert"
    out.mkdir()
    call_command(
        "contract", "erase", contract.code, "--witness", "戸山 花子", "--yes", "--out", str(out)
    )
    printed = capsys.readouterr().out
    erasure = Erasure.objects.get(contract=contract)
    assert f"消去証明書 {erasure.certificate_id}" in printed
    assert (out / f"erasure-{contract.code}.pdf").read_bytes().startswith(b"%PDF")
    package = next(out.glob("*.age"))
    assert str(package) in printed
    assert erasure.witnessing == "named" and erasure.witness_name == "戸山 花子"

    call_command("contract", "list", "--json")
    rows = json.loads(capsys.readouterr().out)
    contractor_row = next(r for r in rows if r["side"] == "contractor")
    assert contractor_row["code"] == contract.code and contractor_row["erased_at"]
    assert next(r for r in rows if r["side"] == "ward")["closed_at"] is None

    call_command("certificate", "verify", str(package))
    assert "終了" in capsys.readouterr().out
    call_command("contract", "list", "--json")
    rows = json.loads(capsys.readouterr().out)
    ward_row = next(r for r in rows if r["side"] == "ward")
    assert ward_row["status"] == "closed" and ward_row["closed_at"]

    with pytest.raises(CommandError) as refused:
        call_command("certificate", "verify", str(package))
    assert refused.value.returncode == 1
    with pytest.raises(CommandError):
        call_command(
            "contract", "erase", contract.code, "--witness", "x", "--yes", "--out", str(out)
        )


def test_erase_command_refuses_before_results(people, contract, keys_exchanged, tmp_path):
    with pytest.raises(CommandError) as refused:
        call_command(
            "contract", "erase", contract.code, "--witness", "戸山", "--yes", "--out", str(tmp_path)
        )
    assert "まだ消去できません" in str(refused.value)

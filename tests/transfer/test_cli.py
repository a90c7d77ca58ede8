"""`genchi package`, `genchi usb`, `genchi keys` and the organisation keys' part of
`genchi master-key rotate`: Japanese messages, exit 1 on refusal, 2 on usage errors, no
tracebacks."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

import pytest
from django.core.management import ManagementUtility
from django.utils import timezone

from genchi.fieldwork.models import SurveyCase
from genchi.transfer.models import HandoverSlip, OrganisationKeyPair, PartnerKeyCard, StickEvent


def genchi(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    # run_from_argv closes every database connection when it ends, which would end the
    # test's transaction on PostgreSQL: keep the connection for the rest of the test.
    with (
        redirect_stdout(out),
        redirect_stderr(err),
        mock.patch("django.core.management.base.connections.close_all"),
    ):
        try:
            ManagementUtility(["genchi", *argv]).execute()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_keys_create_export_import_list(ward, contractor, tmp_path):
    code, out, _ = genchi("keys", "create", "--org", ward.code)
    assert code == 0 and "署名鍵" in out
    code, _, err = genchi("keys", "create", "--org", ward.code)
    assert code == 1 and "すでにあります" in err and "Traceback" not in err
    assert genchi("keys", "create", "--org", contractor.code)[0] == 0
    card = tmp_path / "ward.json"
    qr = tmp_path / "ward.svg"
    code, out, _ = genchi("keys", "export", "--org", ward.code, "--out", str(card), "--qr", str(qr))
    assert code == 0 and card.exists() and qr.read_text().lstrip().startswith("<svg")
    fingerprint = json.loads(card.read_text())["signing"]["fingerprint"]
    code, _, err = genchi(
        "keys", "import", str(card), "--org", contractor.code, "--fingerprint", "0000 1111"
    )
    assert code == 1 and "一致しません" in err
    code, out, _ = genchi(
        "keys", "import", str(card), "--org", contractor.code, "--fingerprint", fingerprint
    )
    assert code == 0, out
    assert PartnerKeyCard.objects.get(holder=contractor).fingerprints_compared
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = genchi("keys", "import", str(bad), "--org", contractor.code)
    assert code == 1 and "公開鍵カード" in err
    code, out, _ = genchi("keys", "list")
    assert code == 0 and "[相手]" in out and "照合済み" in out
    assert genchi("keys", "frobnicate")[0] == 2


@pytest.mark.django_db
def test_rotate_master_rewraps_organisation_keys(ward, contractor, keys_exchanged):
    before = OrganisationKeyPair.objects.get(organisation=ward).master_key_id
    code, out, _ = genchi("master-key", "rotate")
    assert code == 0 and "包み直し" in out
    from genchi.transfer import orgkeys

    assert OrganisationKeyPair.objects.get(organisation=ward).master_key_id != before
    assert orgkeys.secret_keys(ward).org_code == ward.code
    assert genchi("keys", "rotate-master")[0] == 2  # the master key is not an organisation key


@pytest.mark.django_db
def test_rotation_stops_at_an_organisation_secret_it_cannot_open(ward, contractor, keys_exchanged):
    from genchi.vault.master import read_master_key

    before = read_master_key().key_id
    row = OrganisationKeyPair.objects.get(organisation=ward)
    blob = bytearray(row.secret_blob)
    blob[-1] ^= 1
    OrganisationKeyPair.objects.filter(pk=row.pk).update(secret_blob=bytes(blob))
    code, _, err = genchi("master-key", "rotate")
    assert code == 1 and "組織の秘密鍵を復号できません" in err and "Traceback" not in err
    assert read_master_key().key_id == before
    assert set(OrganisationKeyPair.objects.values_list("master_key_id", flat=True)) == {before}


@pytest.mark.django_db
def test_package_export_import_inspect(sealed_batch, stick, tmp_path, people):
    out = tmp_path / "usb"
    out.mkdir()
    code, text, err = genchi(
        "package",
        "export",
        "--batch",
        str(sealed_batch.pk),
        "--out",
        str(out),
        "--stick",
        stick.label,
        "--user",
        "w-staff",
    )
    assert code == 0, err
    assert "パッケージID" in text
    [path] = list(out.glob("*.genchi.age"))
    # Written before the loan: lending the stick names the package it carries.
    due = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    code, text, err = genchi("usb", "lend", stick.label, "--to", "高田 誠", "--due", due)
    assert code == 0, err
    package_id = str(HandoverSlip.objects.get().package.package_id)
    assert f"この貸出で渡すパッケージ: {package_id}" in text

    code, text, err = genchi("package", "inspect", str(path))
    assert code == 0, err
    assert "有効" in text and "件数:       3" in text
    for secret in ("山田", "練馬", "160-0022"):
        assert secret not in text  # never personal data
    code, text, _ = genchi("package", "inspect", str(path), "--json")
    summary = json.loads(text)
    assert summary["manifest"]["record_count"] == 3
    assert summary["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary["digest"] == HandoverSlip.objects.get().digest != summary["file_sha256"]

    code, _text, err = genchi("package", "import", str(path), "--handed-at", "昨日")
    assert code == 1 and "受け渡し日時の形式が違います" in err and "Traceback" not in err
    handed = f"{timezone.localdate() - dt.timedelta(days=1)} 14:05"  # as on the ward's slip
    code, text, err = genchi(
        "package", "import", str(path), "--user", "c-manager", "--handed-at", handed
    )
    assert code == 0, err
    assert SurveyCase.objects.count() == 3
    [received] = HandoverSlip.objects.filter(state="received")
    assert timezone.localtime(received.handed_at).strftime("%Y-%m-%d %H:%M") == handed

    code, text, err = genchi("package", "import", str(path))
    assert code == 1
    assert "既に取り込まれています" in err and "[replayed]" in err and "Traceback" not in err

    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    code, _, err = genchi("package", "import", str(path))
    assert code == 1 and "[tampered]" in err

    assert genchi("package", "export", "--out", str(out))[0] == 2  # --batch missing
    assert genchi("package")[0] == 2
    code, _, err = genchi("package", "export", "--batch", "999999", "--out", str(out))
    assert code == 1 and "見つかりません" in err
    code, _, err = genchi("package", "import", str(tmp_path / "none.genchi.age"))
    assert code == 1 and "ファイルがありません" in err


@pytest.mark.django_db
def test_package_passphrase_file(sealed_batch, tmp_path, people):
    out = tmp_path / "usb"
    out.mkdir()
    secret = tmp_path / "pass.txt"
    secret.write_text("a long usb password 2026\n")
    code, _, err = genchi(
        "package",
        "export",
        "--batch",
        str(sealed_batch.pk),
        "--out",
        str(out),
        "--passphrase-file",
        str(secret),
    )
    assert code == 0, err
    [path] = list(out.glob("*.genchi.age"))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password at all\n")
    code, _, err = genchi("package", "import", str(path), "--passphrase-file", str(wrong))
    assert code == 1 and "[wrong_key]" in err
    assert SurveyCase.objects.count() == 0


@pytest.mark.django_db
def test_usb_commands(ward, contractor, tmp_path, people):
    assert genchi("usb", "register", "USB-07", "--serial", "SN7", "--capacity", "32")[0] == 0
    code, _, err = genchi("usb", "register", "USB-07", "--serial", "SN7", "--capacity", "32")
    assert code == 1 and "すでに登録" in err
    due = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    code, out, err = genchi(
        "usb", "lend", "USB-07", "--to", "高田 誠", "--to-org", contractor.code, "--due", due
    )
    assert code == 0, err
    code, out, _ = genchi("usb", "list", "--json")
    [row] = json.loads(out)
    assert row["custodian"].startswith("高田 誠") and not row["overdue"]
    code, _, err = genchi("usb", "lend", "USB-07", "--to", "x", "--due", due)
    assert code == 1 and "貸出中" in err
    assert genchi("usb", "return", "USB-07", "--by", "高田 誠")[0] == 0
    assert genchi("usb", "inspect", "USB-07", "--ok", "--note", "金庫内")[0] == 0
    mount = tmp_path / "USB-07"
    mount.mkdir()
    (mount / "genchi-cases-x.genchi.age").write_bytes(b"\x01" * 5000)
    (mount / "keep.txt").write_text("not ours")
    code, out, err = genchi("usb", "wipe", str(mount))
    assert code == 0, err
    assert "1 件" in out and "NIST SP 800-88" in out
    assert not (mount / "genchi-cases-x.genchi.age").exists() and (mount / "keep.txt").exists()
    assert StickEvent.objects.filter(kind="wiped", method="overwrite").count() == 1
    code, _, err = genchi("usb", "wipe", str(mount), "--stick", "NOPE")
    assert code == 1 and "登録されていません" in err
    assert genchi("usb", "wipe", str(mount), "--method", "magic")[0] == 2
    assert genchi("usb", "lend", "USB-07", "--to", "x", "--due", "tomorrow")[0] == 2

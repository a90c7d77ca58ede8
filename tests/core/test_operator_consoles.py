"""Operator consoles are logged before they open (a reason is required in production), and
loaddata writes no table of personal data (past the import and the package handlers)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from genchi.audit.models import AuditEntry
from genchi.core.commands import CommandError
from genchi.intake.models import Case
from genchi.parties.models import Organisation

pytestmark = pytest.mark.django_db


def opened() -> list[dict]:
    return [e.detail for e in AuditEntry.objects.filter(action="operator.console_opened")]


def test_shell_is_logged_with_its_reason():
    out = io.StringIO()
    call_command("shell", command="print(6 * 7)", reason="障害調査 #12", stdout=out)
    assert opened() == [{"command": "shell", "reason": "障害調査 #12"}]


def test_in_production_a_console_needs_a_reason(settings, monkeypatch):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="--reason"):
        call_command("shell", command="print(1)")
    ran: list = []
    monkeypatch.setattr(connection.client, "runshell", lambda parameters: ran.append(parameters))
    with pytest.raises(CommandError, match="--reason"):
        call_command("dbshell")
    assert not ran and not opened()
    call_command("dbshell", reason="索引の確認")
    assert ran == [[]]
    assert opened() == [{"command": "dbshell", "reason": "索引の確認"}]


def test_loaddata_refuses_tables_of_personal_data(contract, tmp_path):
    fixture = tmp_path / "cases.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "intake.case",
                    "fields": {"contract": contract.pk, "ref": "f" * 16, "name": "x",
                               "address": "y", "identity_key": "z"},
                }
            ]
        )
    )  # fmt: skip
    with pytest.raises(CommandError, match="intake.Case"):
        call_command("loaddata", str(fixture), verbosity=0)
    assert not Case.objects.filter(ref="f" * 16).exists()


def test_loaddata_loads_other_tables_as_before(tmp_path):
    fixture = tmp_path / "orgs.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "parties.organisation",
                    "fields": {"code": "ward-x", "name": "区X", "kind": "ward"},
                }
            ]
        )
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert Organisation.objects.filter(code="ward-x").exists()

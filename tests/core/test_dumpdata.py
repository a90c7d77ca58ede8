"""`genchi dumpdata` prints no personal data unless asked explicitly, and that is logged."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from genchi.audit.models import AuditEntry
from genchi.compliance.personal_data import personal_data_models
from genchi.core.commands import CommandError
from genchi.intake.models import Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(contract):
    return Case.objects.create(
        contract=contract, name="山田 太郎", address="東京都世田谷区太子堂4-1-1", identity_key="k"
    )


def dump(*labels, **options) -> str:
    out = io.StringIO()
    call_command("dumpdata", *labels, stdout=out, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    "labels", [(), ("intake",), ("intake.Case",), ("fieldwork",), ("accounts",)]
)
def test_personal_data_is_refused_without_the_option(case, labels):
    before = AuditEntry.objects.count()
    with pytest.raises(CommandError, match="個人情報を含むテーブルは出力しません") as refused:
        dump(*labels)
    assert "--include-personal-data" in str(refused.value)
    assert AuditEntry.objects.count() == before


def test_tables_without_personal_data_dump_as_before(case):
    out = dump("parties", "intake", exclude=["intake.Case", "intake.ImportRun"])
    assert json.loads(out) and "山田" not in out
    assert not AuditEntry.objects.filter(action="data.dumped_personal").exists()


def test_the_explicit_option_dumps_and_is_logged(case):
    out = dump("intake.Case", include_personal_data=True)
    assert "山田 太郎" in out
    entry = AuditEntry.objects.get(action="data.dumped_personal")
    assert entry.detail["models"] == ["intake.Case"]
    assert entry.actor.startswith("cli:") and entry.channel == "cli"


def test_every_model_with_personal_data_is_known():
    labels = {m._meta.label for m in personal_data_models()}
    assert {"intake.Case", "fieldwork.SurveyCase", "accounts.User", "accounts.TOTPDevice"} <= labels

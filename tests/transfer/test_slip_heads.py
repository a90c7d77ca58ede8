"""D3: the head printed on every handover slip is checked by `genchi audit verify`, and
each handover signs a checkpoint of the log outside the database."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from genchi.accounts.models import Role
from genchi.audit import anchor, auditkey, chain
from genchi.transfer import services
from genchi.transfer.models import HandoverSlip

pytestmark = pytest.mark.django_db


def test_a_slips_head_that_no_longer_matches_the_log_is_named(exported):
    slip = exported.slip
    assert slip.log_count > 0
    result = chain.verify()
    assert result.ok and result.checked["slips"] == 1
    # What a rewrite of the log, or of the slip's row, leaves: the printed head and the
    # entry at that count differ.
    HandoverSlip.objects.filter(pk=slip.pk).update(log_head="e" * 64)
    result = chain.verify()
    assert not result.ok and [p.check for p in result.problems] == ["slips"]
    assert result.problems[0].where.startswith(f"票 {slip.number}")
    assert f"記録 #{slip.log_count}" in result.problems[0].reason
    with pytest.raises(CommandError, match=f"受け渡し票: 票 {slip.number}"):
        call_command("audit", "verify")
    HandoverSlip.objects.filter(pk=slip.pk).update(log_count=10**9)
    assert "がありません" in chain.verify().problems[0].reason


def test_a_handover_signs_a_checkpoint(
    sealed_batch, tmp_path, people, django_capture_on_commit_callbacks
):
    out = tmp_path / "stick"
    out.mkdir()
    with django_capture_on_commit_callbacks(execute=True):
        result = services.export_batch(sealed_batch, out, by=people[Role.WARD_STAFF])
    checkpoints = list(anchor.read_checkpoints(auditkey.read_audit_key()))
    reasons = [cp.reason.split(":")[0] for cp in checkpoints]
    assert "package.exported" in reasons and "slip.issued" in reasons
    assert checkpoints[-1].seq == chain.head()[0]
    assert chain.verify().ok
    assert result.slip.log_count < checkpoints[-1].seq

"""D3: the log is append-only, hash-chained, and `genchi audit verify` finds any edit."""

import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from genchi.audit import chain
from genchi.audit.auditkey import read_audit_key
from genchi.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def _three_entries():
    for i in range(3):
        chain.record("test.event", object_type="thing", object_id=i, detail={"n": i, "名前": "値"})


def test_entries_link_to_their_predecessor():
    _three_entries()
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == chain.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    result = chain.verify()
    assert result.ok and result.count == 3 and result.head_hash == entries[-1].entry_hash
    assert chain.head() == (3, entries[-1].entry_hash)


def test_triggers_refuse_update_and_delete():
    _three_entries()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=2).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=3).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE audit_auditentry SET actor = 'mallory'")
    assert chain.verify().ok


def _drop_triggers():
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        else:
            cur.execute("DROP TRIGGER audit_auditentry_no_update")
            cur.execute("DROP TRIGGER audit_auditentry_no_delete")


def test_edit_behind_the_triggers_is_caught():
    _three_entries()
    _drop_triggers()
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_auditentry SET detail = %s WHERE seq = 2", ['{"n": 99}'])
    result = chain.verify()
    assert not result.ok and result.broken_seq == 2 and result.count == 1
    with pytest.raises(CommandError, match="#2"):
        call_command("audit", "verify")


def test_removed_entry_is_caught_as_a_gap():
    _three_entries()
    _drop_triggers()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditentry WHERE seq = 2")
    result = chain.verify()
    assert not result.ok and result.broken_seq == 2


def test_rehashed_forgery_breaks_the_next_link():
    """Even someone holding the key, who edits an entry and recomputes its own hash, breaks
    the link after it."""
    _three_entries()
    _drop_triggers()
    forged = AuditEntry.objects.get(seq=2)
    forged.action = "forged"
    forged.entry_hash = chain.keyed_hash(forged, read_audit_key())
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE audit_auditentry SET action = %s, entry_hash = %s WHERE seq = 2",
            [forged.action, forged.entry_hash],
        )
    result = chain.verify()
    assert not result.ok and result.broken_seq == 3


def test_verify_command_prints_count_and_head(capsys):
    _three_entries()
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "3 件" in out and chain.head()[1] in out


def test_verify_cli_exit_codes(tmp_path):
    """The real console command on a real data folder: 0 when intact, 1 after tampering."""
    import os
    import sqlite3

    if connection.vendor != "sqlite":
        pytest.skip("drives a file-based installation; the PostgreSQL run covers the rest")
    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(tmp_path / "inst"),
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
    }
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "genchi", *args], env=env, capture_output=True, text=True
    )
    assert run("migrate").returncode == 0
    ok = run("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    db = sqlite3.connect(tmp_path / "inst" / "genchi.sqlite3")
    forge = "INSERT INTO audit_auditentry (seq, at, actor, actor_organisation, ip, channel, action, object_type, object_id, contract_code, detail, prev_hash, entry_hash) VALUES (1, '2026-01-01 00:00:00', 'x', '', '', '', 'forged', '', '', '', '{}', 'bad', 'bad')"
    with pytest.raises(sqlite3.IntegrityError, match="extend the chain"):
        db.execute(forge)  # the database refuses a row that does not extend the chain
    db.execute("DROP TRIGGER audit_auditentry_extend_only")
    db.execute(forge)
    db.commit()
    db.close()
    broken = run("audit", "verify")
    assert broken.returncode == 1
    assert "#1" in broken.stderr and "Traceback" not in broken.stderr

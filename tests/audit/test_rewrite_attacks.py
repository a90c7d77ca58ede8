"""D3: the attacks that rewrote the log (issue 12), each refused by the database or
named by `genchi audit verify`.

Entries are committed through `django_capture_on_commit_callbacks(execute=True)`, so their
anchor lines and checkpoints are written as they would be after a real commit.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from genchi.audit import anchor, auditkey, chain
from genchi.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

COLUMNS = (
    "id, seq, at, actor_id, actor, actor_organisation, ip, channel, action, object_type, "
    "object_id, contract_code, detail, prev_hash, entry_hash"
)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Record `n` entries (of `action`), each in a transaction of its own that commits."""

    def write(n: int, action: str = "test.event") -> None:
        for i in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                chain.record(action, object_type="thing", object_id=i, detail={"n": i})

    return write


def _drop_triggers() -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        else:
            for name in ("no_update", "no_delete", "extend_only"):
                cur.execute(f"DROP TRIGGER audit_auditentry_{name}")


def _problem(result: chain.VerifyResult, check: str) -> chain.Problem:
    found = [p for p in result.problems if p.check == check]
    assert found, result.problems
    return found[0]


def _verify_fails_with(*fragments: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify")
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def _forged_row(seq: int, prev_hash: str, *, row_id: int | None = None) -> AuditEntry:
    """A row as an attacker would write it: plausible content, the public hash."""
    entry = AuditEntry(
        id=row_id,
        seq=seq,
        at=AuditEntry.objects.get(seq=1).at,
        actor="mallory",
        action="forged",
        detail={},
        prev_hash=prev_hash,
    )
    entry.entry_hash = chain.unkeyed_hash(entry)
    return entry


def _row_values(entry: AuditEntry) -> list:
    return [
        entry.id,
        entry.seq,
        entry.at,
        entry.actor_id,
        entry.actor,
        entry.actor_organisation,
        entry.ip,
        entry.channel,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.contract_code,
        json.dumps(entry.detail),
        entry.prev_hash,
        entry.entry_hash,
    ]


def _insert(entry: AuditEntry, verb: str = "INSERT", tail: str = "") -> None:
    """A hand-written INSERT; without an id the database numbers the row."""
    columns, values = COLUMNS, _row_values(entry)
    if entry.id is None:
        columns, values = COLUMNS.removeprefix("id, "), values[1:]
    marks = ", ".join(["%s"] * len(values))
    with connection.cursor() as cur:
        cur.execute(f"{verb} INTO audit_auditentry ({columns}) VALUES ({marks}){tail}", values)


def test_replace_and_upsert_are_refused(committed):
    """SQLite's REPLACE deleted the row it collided with, unseen by the delete trigger;
    PostgreSQL's upsert is its counterpart. Both are refused now, over a seq in the middle
    and over a row id with an otherwise valid next entry."""
    committed(12)
    head_seq, head_hash = chain.head()
    middle = _forged_row(10, AuditEntry.objects.get(seq=9).entry_hash, row_id=None)
    middle.id = AuditEntry.objects.get(seq=10).id
    next_over_old_row = _forged_row(head_seq + 1, head_hash, row_id=middle.id)
    for forged in (middle, next_over_old_row):
        with pytest.raises(DatabaseError), transaction.atomic():
            if connection.vendor == "sqlite":
                _insert(forged, "REPLACE")
            else:
                _insert(forged, tail=" ON CONFLICT (id) DO UPDATE SET action = EXCLUDED.action")
    assert AuditEntry.objects.count() == 12
    assert AuditEntry.objects.get(seq=10).action == "test.event"
    assert chain.verify().ok


def test_an_insert_that_does_not_extend_the_chain_is_refused(committed):
    committed(3)
    head_seq, head_hash = chain.head()
    refused = [
        _forged_row(head_seq + 2, head_hash),  # skips a seq
        _forged_row(head_seq + 1, "f" * 64),  # does not link to the head
        _forged_row(2, AuditEntry.objects.get(seq=1).entry_hash),  # in the middle
    ]
    for forged in refused:
        with pytest.raises(DatabaseError), transaction.atomic():
            _insert(forged)
    assert AuditEntry.objects.count() == 3


def test_a_forged_entry_that_extends_the_chain_is_caught_without_the_key(committed):
    """The database cannot tell a forged next entry from a real one; the key can."""
    committed(3)
    head_seq, head_hash = chain.head()
    _insert(_forged_row(head_seq + 1, head_hash))
    result = chain.verify()
    assert not result.ok and result.broken_seq == 4
    assert "鍵付きハッシュ" in _problem(result, "chain").reason
    assert _problem(result, "anchor").seq == 4  # and it never reached the anchor file
    _verify_fails_with("ハッシュ連鎖: 記録 #4", "アンカーファイル: 記録 #4")


def test_rewriting_an_entry_and_recomputing_every_later_hash_is_caught(committed):
    """The reported attack: REPLACE entry 10 (triggers out of the way) and recompute every
    later link with the project's public hash function."""
    committed(14)
    _drop_triggers()
    prev_hash = AuditEntry.objects.get(seq=9).entry_hash
    for entry in AuditEntry.objects.filter(seq__gte=10).order_by("seq"):
        if entry.seq == 10:
            entry.detail = {"n": "rewritten"}
        entry.prev_hash = prev_hash
        entry.entry_hash = chain.unkeyed_hash(entry)
        prev_hash = entry.entry_hash
        if connection.vendor == "sqlite":
            _insert(entry, "REPLACE")
        else:
            with connection.cursor() as cur:
                cur.execute(
                    "UPDATE audit_auditentry SET detail = %s, prev_hash = %s, entry_hash = %s "
                    "WHERE seq = %s",
                    [json.dumps(entry.detail), entry.prev_hash, entry.entry_hash, entry.seq],
                )
    result = chain.verify()
    assert not result.ok and result.broken_seq == 10 and result.count == 9
    assert "書き換え" in _problem(result, "anchor").reason
    _verify_fails_with("記録 #10")


def test_deleting_the_newest_entries_behind_a_dropped_trigger_is_caught(committed):
    committed(60)
    _drop_triggers()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditentry WHERE seq > 10")
    result = chain.verify()
    assert not result.ok
    assert result.count == 10  # what is left still links up: only the anchor knows
    problem = _problem(result, "anchor")
    assert problem.seq == 11 and "データベースにありません" in problem.reason
    _verify_fails_with("heads.log 11 行目", "記録 #11 がデータベースにありません")


def test_cutting_the_anchor_files_tail_is_caught(committed):
    committed(5)
    lines = anchor.heads_path().read_bytes().splitlines(keepends=True)
    assert len(lines) == 5
    anchor.heads_path().write_bytes(b"".join(lines[:3]))
    result = chain.verify()
    assert not result.ok and _problem(result, "anchor").seq == 4
    _verify_fails_with("アンカーファイル: 記録 #4", "末尾が切られた")


def test_cutting_both_tails_below_a_checkpoint_is_caught(committed):
    """Someone who removes the newest entries and the matching anchor lines still meets
    the signed checkpoint of the last handover."""
    committed(3)
    committed(1, "slip.issued")  # a handover: checkpoint at #4
    committed(4)
    _drop_triggers()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditentry WHERE seq > 3")
    lines = anchor.heads_path().read_bytes().splitlines(keepends=True)
    anchor.heads_path().write_bytes(b"".join(lines[:3]))
    result = chain.verify()
    assert [p.check for p in result.problems] == ["checkpoints"]
    assert "記録 #4 がデータベースにありません" in result.problems[0].reason


def test_cutting_the_anchor_file_below_a_checkpoints_size_is_caught(committed):
    committed(2, "package.exported")
    checkpoint = list(anchor.read_checkpoints(auditkey.read_audit_key()))[-1]
    assert checkpoint.seq == 2 and checkpoint.heads_size == anchor.heads_size()
    data = anchor.heads_path().read_bytes()
    anchor.heads_path().write_bytes(data[: len(data) // 2])
    result = chain.verify()
    assert "短くなっています" in _problem(result, "checkpoints").reason


def test_a_forged_checkpoint_is_caught(committed):
    committed(2, "slip.issued")
    good = anchor.checkpoints_path().read_text().splitlines()[-1]
    body, _signature = good.rsplit(" ", 1)
    forged = body.replace("slip.issued", "slip.printed") + " " + "0" * 64
    with anchor.checkpoints_path().open("a") as f:
        f.write(forged + "\n")
    result = chain.verify()
    problem = _problem(result, "checkpoints")
    assert "checkpoints.log 3 行目" in problem.where and "偽造" in problem.reason


def test_a_forged_anchor_line_is_caught(committed):
    committed(2)
    with anchor.heads_path().open("a") as f:
        f.write(f"3 {'a' * 64} {'b' * 32}\n")
    assert "署名" in _problem(chain.verify(), "anchor").reason


def test_a_rolled_back_entry_leaves_no_line(django_capture_on_commit_callbacks):
    """Entries of a transaction (or savepoint) that rolls back leave no anchor line; the
    next entry takes their seq and verify finds nothing amiss."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        chain.record("test.kept")
        try:
            with transaction.atomic():
                chain.record("test.rolled_back")
                chain.record("test.rolled_back")
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        chain.record("test.kept")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        chain.record("test.rolled_back")
        transaction.set_rollback(True)
    assert anchor.heads_path().read_text().count("\n") == 2
    result = chain.verify()
    assert result.ok and result.count == 2 and result.checked["anchor"] == 2


def test_entries_of_the_open_transaction_are_not_missing_lines():
    """verify inside the transaction that wrote entries (the audit page does so) does not
    call their lines, which come at commit, missing."""
    chain.record("test.event")
    assert not anchor.heads_path().exists()
    assert chain.verify().ok


def test_a_log_without_its_key_takes_no_entry_and_fails_verify(committed):
    committed(2)
    auditkey.audit_key_path().unlink()
    auditkey._cache.clear()
    with pytest.raises(auditkey.AuditKeyError, match="鍵ファイルがありません"):
        chain.record("test.event")
    _verify_fails_with("鍵ファイル", "audit.key")


def test_the_key_file_is_the_owners_alone(committed):
    committed(1)
    path = auditkey.audit_key_path()
    assert path.stat().st_mode & 0o777 == 0o600
    assert anchor.heads_path().stat().st_mode & 0o777 == 0o600
    assert anchor.audit_dir().stat().st_mode & 0o777 == 0o700


def test_entries_from_before_the_key_are_pinned_by_the_first_keyed_one(committed):
    """An installation upgraded with entries keeps their unkeyed hashes (migration 0003
    starts the key after them); rewriting them breaks the first keyed link."""
    prev_hash = chain.GENESIS
    for seq in (1, 2):
        entry = AuditEntry(seq=seq, at=chain.timezone.now(), action="old", prev_hash=prev_hash)
        entry.entry_hash = chain.unkeyed_hash(entry)
        entry.save(force_insert=True)
        prev_hash = entry.entry_hash
    auditkey.create_audit_key(keyed_from=3)
    committed(2)
    result = chain.verify()
    assert result.ok and result.count == 4 and result.checked["anchor"] == 2
    _drop_triggers()
    with connection.cursor() as cur:
        for seq in (1, 2):
            entry = AuditEntry.objects.get(seq=seq)
            if seq == 1:
                entry.action = "rewritten"
            else:
                entry.prev_hash = AuditEntry.objects.get(seq=1).entry_hash
            entry.entry_hash = chain.unkeyed_hash(entry)
            cur.execute(
                "UPDATE audit_auditentry SET action = %s, prev_hash = %s, entry_hash = %s "
                "WHERE seq = %s",
                [entry.action, entry.prev_hash, entry.entry_hash, seq],
            )
    result = chain.verify()
    assert not result.ok and result.broken_seq == 3


def test_anchor_writes_the_lines_a_crash_lost_and_nothing_else(
    committed, django_capture_on_commit_callbacks, capsys
):
    committed(4)
    lines = anchor.heads_path().read_bytes().splitlines(keepends=True)
    anchor.heads_path().write_bytes(b"".join(lines[:2]))
    assert not chain.verify().ok
    with django_capture_on_commit_callbacks(execute=True):
        call_command("audit", "anchor")
    assert "2 行" in capsys.readouterr().out
    result = chain.verify()
    assert result.ok and result.checked["anchor"] == 5  # the four and the repair's own entry
    assert AuditEntry.objects.order_by("-seq").first().action == "audit.reanchored"


def test_anchor_refuses_when_an_entry_was_rewritten(committed):
    committed(3)
    _drop_triggers()
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_auditentry SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(CommandError, match="記録 #2"):
        call_command("audit", "anchor")


def test_verify_reports_every_check(committed, capsys):
    committed(2)
    committed(1, "package.imported")
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "3 件" in out and "アンカーファイル 3 行" in out and "チェックポイント 1 件" in out

"""The hash chain of the audit log: appending and verifying (D3).

Each entry's hash is an HMAC, under the audit key kept outside the database
(auditkey.py), of the previous entry's hash and the entry's own canonical content: changing,
removing or inserting any entry breaks every later link, and without the key nobody can
recompute the links after a change. Appends are serialised (PostgreSQL advisory lock;
SQLite's IMMEDIATE transactions) so two writers can never chain onto the same head, and
the database itself refuses a row that does not extend the chain (migration 0003).

Every committed head also goes, keyed, to the anchor file outside the database, and each
handover signs a checkpoint (anchor.py); `verify` checks the chain, both files and the
heads printed on the handover slips. The files are written under the anchor's own lock in
the database (`anchor.writing`), so servers on several hosts sharing the data folder
over NFS never write into each other's lines.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from genchi.core.acting import current_actor

from . import anchor
from .auditkey import AuditKey, AuditKeyError, key_for_appending, read_audit_key
from .models import AuditEntry

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 0x47454E4348  # "GENCH"


# A handover pins the head in a signed checkpoint (anchor.py) once it commits.
CHECKPOINT_ACTIONS = frozenset(
    {"package.exported", "package.imported", "slip.issued", "slip.received", "slip.confirmed"}
)


def canonical_content(entry: AuditEntry) -> bytes:
    """The exact bytes an entry's hash covers (everything but the hash itself)."""
    body = {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "actor_organisation": entry.actor_organisation,
        "ip": entry.ip,
        "channel": entry.channel,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "contract": entry.contract_code,
        "detail": entry.detail,
        "prev": entry.prev_hash,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _hashed_bytes(entry: AuditEntry) -> bytes:
    return entry.prev_hash.encode("ascii") + b"\n" + canonical_content(entry)


def unkeyed_hash(entry: AuditEntry) -> str:
    """The hash of entries written before the log had a key (seq < `keyed_from`). Anyone
    can compute it, which is why later entries are keyed."""
    return hashlib.sha256(_hashed_bytes(entry)).hexdigest()


def keyed_hash(entry: AuditEntry, key: AuditKey) -> str:
    return hmac.new(key.entry_key, _hashed_bytes(entry), hashlib.sha256).hexdigest()


def expected_hash(entry: AuditEntry, key: AuditKey) -> str:
    return keyed_hash(entry, key) if entry.seq >= key.keyed_from else unkeyed_hash(entry)


def _normalise_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so the hash covers what the database will return.
    return json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))


# Entries this thread wrote whose transaction has not committed yet: seq -> hash. Their
# anchor lines come at commit, so `verify` inside that same transaction does not call
# them missing. A rolled-back entry's seq is taken again by the next entry (or dropped
# when the next transaction starts), so stale ones never stand for a committed entry.
_uncommitted = threading.local()


def _pending() -> dict[int, str]:
    if not hasattr(_uncommitted, "heads"):
        _uncommitted.heads = {}
    return _uncommitted.heads


def _anchor_on_commit(key: AuditKey, entry: AuditEntry) -> None:
    seq, entry_hash = entry.seq, entry.entry_hash
    checkpoint = entry.action in CHECKPOINT_ACTIONS
    _pending()[seq] = entry_hash

    def write() -> None:
        try:
            with anchor.writing():
                anchor.append_head(key, seq, entry_hash, sync=checkpoint)
                if checkpoint:
                    anchor.write_checkpoint(
                        key,
                        seq,
                        entry_hash,
                        at=entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        reason=f"{entry.action}:{entry.object_id}",
                    )
        finally:
            if _pending().get(seq) == entry_hash:
                del _pending()[seq]

    # robust: the entry is committed whatever happens here; a line that could not be
    # written is logged now and named by `verify` (and `genchi audit anchor` writes it).
    transaction.on_commit(write, robust=True)


def record(
    action: str,
    *,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    contract: Any = None,
    detail: dict[str, Any] | None = None,
    actor=None,
) -> AuditEntry:
    """Append one entry. `actor` defaults to whoever is acting in this context."""
    who = actor or current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    contract_code = contract if isinstance(contract, str) else getattr(contract, "code", "")
    at = timezone.now()
    if not connection.in_atomic_block:
        _pending().clear()  # whatever an earlier transaction left has committed or is gone
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_ID])
        head = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
        entry = AuditEntry(
            seq=(head.seq + 1) if head else 1,
            at=at,
            actor_id=who.user_id,
            actor=who.username,
            actor_organisation=who.organisation_code,
            ip=who.ip,
            channel=who.channel,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            contract_code=contract_code or "",
            detail=_normalise_detail(detail),
            prev_hash=head.entry_hash if head else GENESIS,
        )
        key = key_for_appending(entry.seq)
        entry.entry_hash = expected_hash(entry, key)
        entry.save(force_insert=True)
        _anchor_on_commit(key, entry)
    return entry


def head() -> tuple[int, str]:
    """(entry count, head hash) — printed on handover slips and certificates."""
    last = AuditEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
    return (last.seq, last.entry_hash) if last else (0, GENESIS)


# --- Verification ---------------------------------------------------------------------

CHECK_LABELS = {
    "key": "鍵ファイル",
    "chain": "ハッシュ連鎖",
    "anchor": "アンカーファイル",
    "checkpoints": "チェックポイント",
    "slips": "受け渡し票",
}


@dataclass(frozen=True)
class Problem:
    """The first thing one check found wrong: which check, where, and what."""

    check: str
    where: str
    reason: str
    seq: int | None = None

    @property
    def text(self) -> str:
        return f"{CHECK_LABELS[self.check]}: {self.where}: {self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""
    problems: tuple[Problem, ...] = ()
    checked: dict[str, int] = field(default_factory=dict)


class _AnchorMatcher:
    """Matches the database's entries, in seq order, with the anchor file's lines, which
    come nearly in order (processes append at commit). Only lines read ahead of the
    entries are held in memory: a handful, unless something is already wrong."""

    def __init__(self, key: AuditKey) -> None:
        self.key = key
        self.lines: Iterator[anchor.HeadLine] = anchor.read_heads(key)
        self.ahead: dict[int, anchor.HeadLine] = {}
        self.problem: Problem | None = None
        self.matched = 0

    def _fail(self, where: str, reason: str, seq: int | None = None) -> None:
        self.problem = Problem("anchor", where, reason, seq)

    def _read_one(self) -> bool:
        try:
            line = next(self.lines)
        except StopIteration:
            return False
        except anchor.AnchorFault as fault:
            self._fail(f"{anchor.heads_path().name} {fault.line_no} 行目", fault.message)
            return False
        earlier = self.ahead.get(line.seq)
        if earlier is not None and earlier.entry_hash == line.entry_hash:
            return True  # the same head twice (`genchi audit anchor` met a late commit)
        if earlier is not None:
            self._fail(
                f"{anchor.heads_path().name} {line.line_no} 行目",
                f"記録 #{line.seq} に別のハッシュの行があります({earlier.line_no} 行目)",
                line.seq,
            )
            return False
        self.ahead[line.seq] = line
        return True

    def see(self, seq: int, entry_hash: str) -> None:
        if self.problem or seq < self.key.keyed_from:
            return
        while seq not in self.ahead and self._read_one():
            pass
        if self.problem:
            return
        line = self.ahead.pop(seq, None)
        if line is None:
            if _pending().get(seq) == entry_hash:
                return  # written by this very transaction: its line comes at commit
            self._fail(
                f"記録 #{seq}",
                "この記録の行がアンカーファイルにありません"
                "(ファイルの末尾が切られたか、行を書く前に停止しました)",
                seq,
            )
        elif not hmac.compare_digest(line.entry_hash, entry_hash):
            self._fail(
                f"記録 #{seq}",
                f"データベースのハッシュがアンカーファイル {line.line_no} 行目と一致しません"
                "(記録が書き換えられました)",
                seq,
            )
        else:
            self.matched += 1

    def finish(self) -> None:
        while not self.problem and self._read_one():
            pass
        if self.problem or not self.ahead:
            return
        orphan = min(self.ahead.values(), key=lambda line: line.seq)
        self._fail(
            f"{anchor.heads_path().name} {orphan.line_no} 行目",
            f"記録 #{orphan.seq} がデータベースにありません(記録が削除されました)",
            orphan.seq,
        )


def _hashes_at(seqs: Iterable[int]) -> dict[int, str]:
    """Entry hashes by seq (0 is the genesis), in batches."""
    wanted = sorted(set(seqs))
    found = {0: GENESIS}
    for start in range(0, len(wanted), 500):
        batch = wanted[start : start + 500]
        found.update(
            AuditEntry.objects.filter(seq__in=batch).values_list("seq", "entry_hash").iterator()
        )
    return found


def _check_checkpoints(key: AuditKey) -> tuple[Problem | None, int]:
    try:
        checkpoints = list(anchor.read_checkpoints(key))
    except anchor.AnchorFault as fault:
        where = f"{anchor.checkpoints_path().name} {fault.line_no} 行目"
        return Problem("checkpoints", where, fault.message), 0
    hashes = _hashes_at(cp.seq for cp in checkpoints)
    size_now = anchor.heads_size()
    for cp in checkpoints:
        where = f"{anchor.checkpoints_path().name} {cp.line_no} 行目({cp.at} {cp.reason})"
        found = hashes.get(cp.seq)
        if found is None:
            reason = f"記録 #{cp.seq} がデータベースにありません(記録が削除されました)"
            return Problem("checkpoints", where, reason, cp.seq), len(checkpoints)
        if not hmac.compare_digest(found, cp.entry_hash):
            reason = f"記録 #{cp.seq} のハッシュがチェックポイントと一致しません(記録が書き換えられました)"
            return Problem("checkpoints", where, reason, cp.seq), len(checkpoints)
        if size_now < cp.heads_size:
            reason = (
                f"アンカーファイルが {cp.heads_size} バイトから {size_now} バイトに"
                "短くなっています(末尾が切られました)"
            )
            return Problem("checkpoints", where, reason, cp.seq), len(checkpoints)
    return None, len(checkpoints)


def _check_slips() -> tuple[Problem | None, int]:
    """Every handover slip printed the head at its issue: it must still be in the chain."""
    if not apps.is_installed("genchi.transfer"):
        return None, 0
    slip_model = apps.get_model("transfer", "HandoverSlip")
    slips = list(
        slip_model.objects.order_by("pk").values_list(
            "number", "holder__code", "log_count", "log_head"
        )
    )
    hashes = _hashes_at(count for _, _, count, _ in slips)
    for number, holder, count, printed in slips:
        found = hashes.get(count)
        if found is None or not hmac.compare_digest(found, printed):
            what = "がありません" if found is None else "のハッシュが票の印字と一致しません"
            reason = f"記録 #{count}{what}(記録が書き換えられたか削除されました)"
            return Problem("slips", f"票 {number}({holder})", reason, count), len(slips)
    return None, len(slips)


def verify(batch_size: int = 5000) -> VerifyResult:
    """Check the chain, the anchor file, the checkpoints and every slip's printed head.

    Each check reports the first thing it finds wrong; `broken_seq` and `reason` are the
    first problem's (the chain's if it has one)."""
    problems: list[Problem] = []
    checked: dict[str, int] = {}
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    chain_problem: Problem | None = None
    try:
        key: AuditKey | None = read_audit_key()
    except AuditKeyError as exc:
        key = None
        if AuditEntry.objects.exists():
            problems.append(Problem("key", "鍵", str(exc)))
    matcher = _AnchorMatcher(key) if key else None
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=batch_size):
        if matcher:
            matcher.see(entry.seq, entry.entry_hash)
        if chain_problem:
            continue
        where = f"記録 #{entry.seq}"
        if entry.seq != expected_seq:
            reason = f"連番 {expected_seq} が欠落しています"
            chain_problem = Problem("chain", f"記録 #{expected_seq}", reason, expected_seq)
        elif entry.prev_hash != prev_hash:
            reason = "直前の記録のハッシュと一致しません"
            chain_problem = Problem("chain", where, reason, entry.seq)
        elif key is not None and not hmac.compare_digest(
            expected_hash(entry, key), entry.entry_hash
        ):  # without the key only the links are checked; the key's own problem is named
            reason = "記録の内容が鍵付きハッシュと一致しません(改ざん)"
            if entry.seq < key.keyed_from:
                reason = "記録の内容がハッシュと一致しません(改ざん)"
            chain_problem = Problem("chain", where, reason, entry.seq)
        else:
            prev_hash = entry.entry_hash
            expected_seq += 1
            count += 1
    if chain_problem:
        problems.insert(0, chain_problem)
    checked["chain"] = count
    if matcher and key:
        matcher.finish()
        if matcher.problem:
            problems.append(matcher.problem)
        checked["anchor"] = matcher.matched
        checkpoint_problem, checked["checkpoints"] = _check_checkpoints(key)
        if checkpoint_problem:
            problems.append(checkpoint_problem)
    slip_problem, checked["slips"] = _check_slips()
    if slip_problem:
        problems.append(slip_problem)
    first = problems[0] if problems else None
    return VerifyResult(
        ok=not problems,
        count=count,
        head_hash=prev_hash,
        broken_seq=first.seq if first else None,
        reason=(first.reason if first.check == "chain" else first.text) if first else "",
        problems=tuple(problems),
        checked=checked,
    )


class ReanchorRefused(Exception):
    """Something other than missing lines is wrong: writing lines would hide nothing, but
    would vouch for a chain that does not hold."""


def reanchor() -> list[int]:
    """Write the anchor lines of committed entries that have none (a crash or power loss
    between commit and write), once the chain verifies under the key and every existing
    line matches its entry. Returns the seqs written; lines are never removed or changed."""
    key = read_audit_key()
    result = verify()
    chain_problems = [p for p in result.problems if p.check in ("key", "chain")]
    if chain_problems:
        raise ReanchorRefused(chain_problems[0].text)
    try:
        lines = {line.seq: line for line in anchor.read_heads(key)}
    except anchor.AnchorFault as fault:
        where = f"{anchor.heads_path().name} {fault.line_no} 行目"
        raise ReanchorRefused(f"{where}: {fault.message}") from None
    missing: list[tuple[int, str]] = []
    entries = AuditEntry.objects.filter(seq__gte=key.keyed_from).order_by("seq")
    for seq, entry_hash in entries.values_list("seq", "entry_hash").iterator(chunk_size=5000):
        line = lines.pop(seq, None)
        if line is None:
            missing.append((seq, entry_hash))
        elif line.entry_hash != entry_hash:
            raise ReanchorRefused(
                f"記録 #{seq}: アンカーファイル {line.line_no} 行目と一致しません"
            )
    if lines:
        orphan = min(lines)
        raise ReanchorRefused(f"アンカーファイルの記録 #{orphan} がデータベースにありません")
    with anchor.writing():
        for index, (seq, entry_hash) in enumerate(missing, start=1):
            anchor.append_head(key, seq, entry_hash, sync=index == len(missing))
    return [seq for seq, _ in missing]

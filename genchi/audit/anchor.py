"""The audit log's anchor outside the database (D3): two append-only files.

`heads.log` holds one short line per committed entry, `<seq> <entry hash> <tag>`, the tag
an HMAC under the audit key. Lines are written when the entry's transaction commits
(`transaction.on_commit`), so a rolled-back entry leaves no line; processes append with
one `write()` on an O_APPEND descriptor, and always under `writing()`: a lock in the
database (`genchi.core.locks.session_lock`), held from opening the file to closing it.
On one host O_APPEND alone keeps two processes' lines apart; on NFS it does not (each
client writes at the end of the file as it last saw it), and the lock does: with
close-to-open consistency the next holder's open sees the previous holder's line.
Lines may still come out of seq order (they are written in commit order). Deleting the newest entries from the database leaves lines
with no entry; cutting the file's tail leaves entries with no line.

Durability: each line reaches the operating system at once (it survives the process being
killed); the file is fsynced at every checkpoint and otherwise at most once a second, so
bulk work pays one fsync per second, not one per entry. After a power loss the last
second's lines may be missing; `genchi audit verify` names them, and `genchi audit
anchor` writes them again once their keyed hashes verify.

`checkpoints.log` holds one line per handover (a package written or received, a slip
issued, received or confirmed): the head at that moment, the size of `heads.log` then, the
time and what happened, signed with the audit key and fsynced. A cut of `heads.log`
below a checkpoint's size shows even if the database's tail was cut to match.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from genchi.core.locks import session_lock

from .auditkey import AuditKey, tag

FSYNC_INTERVAL_SECONDS = 1.0
_HEAD_LINE = re.compile(r"^(\d{1,19}) ([0-9a-f]{64}) ([0-9a-f]{32})$")
_CHECKPOINT_LINE = re.compile(
    r"^v1 (\d{1,19}) ([0-9a-f]{64}) (\d{1,19}) (\S{1,40}) ([!-~]{1,120}) ([0-9a-f]{64})$"
)
_last_fsync = 0.0


def audit_dir() -> Path:
    return Path(settings.GENCHI_AUDIT_DIR)


def heads_path() -> Path:
    return audit_dir() / "heads.log"


def checkpoints_path() -> Path:
    return audit_dir() / "checkpoints.log"


ANCHOR_LOCK = "audit-anchor"


def writing():
    """Hold the anchor files' lock (every host, every process) while writing lines."""
    return session_lock(ANCHOR_LOCK)


def _head_tag(key: AuditKey, seq: int, entry_hash: str) -> str:
    return tag(key.anchor_key, f"{seq} {entry_hash}".encode())[:32]


def _append(path: Path, line: str) -> int:
    """Append one line with a single write; returns the file's descriptor (still open)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("ascii"))
    except BaseException:
        os.close(fd)
        raise
    return fd


def append_head(key: AuditKey, seq: int, entry_hash: str, *, sync: bool = False) -> None:
    """One committed head; fsynced when asked or when the last fsync is a second old."""
    global _last_fsync
    fd = _append(heads_path(), f"{seq} {entry_hash} {_head_tag(key, seq, entry_hash)}\n")
    try:
        now = time.monotonic()
        if sync or now - _last_fsync >= FSYNC_INTERVAL_SECONDS:
            os.fsync(fd)
            _last_fsync = now
    finally:
        os.close(fd)


@dataclass(frozen=True)
class HeadLine:
    line_no: int
    seq: int
    entry_hash: str


class AnchorFault(Exception):
    """A line that does not parse or whose tag is wrong; `line_no` says where."""

    def __init__(self, line_no: int, message: str) -> None:
        self.line_no = line_no
        self.message = message
        super().__init__(message)


def read_heads(key: AuditKey) -> Iterator[HeadLine]:
    """The anchor file's lines in file order; raises AnchorFault at the first bad one."""
    path = heads_path()
    if not path.exists():
        return
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                text = ""
            match = _HEAD_LINE.match(text.rstrip("\n")) if text.endswith("\n") else None
            if match is None:
                raise AnchorFault(line_no, "行の形式が正しくありません")
            seq, entry_hash, line_tag = int(match[1]), match[2], match[3]
            if line_tag != _head_tag(key, seq, entry_hash):
                raise AnchorFault(line_no, "行の署名が一致しません(鍵なしで書かれた行)")
            yield HeadLine(line_no, seq, entry_hash)


def heads_size() -> int:
    try:
        return heads_path().stat().st_size
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class Checkpoint:
    line_no: int
    seq: int
    entry_hash: str
    heads_size: int
    at: str
    reason: str


def _checkpoint_body(seq: int, entry_hash: str, size: int, at: str, reason: str) -> str:
    return f"v1 {seq} {entry_hash} {size} {at} {reason}"


def write_checkpoint(key: AuditKey, seq: int, entry_hash: str, *, at: str, reason: str) -> None:
    """Sign the head and the anchor file's size now; both files reach the disk first."""
    heads = heads_path()
    if heads.exists():
        fd = os.open(heads, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    reason = re.sub(r"[^!-~]", "_", reason)[:120] or "-"
    body = _checkpoint_body(seq, entry_hash, heads_size(), at, reason)
    fd = _append(checkpoints_path(), f"{body} {tag(key.checkpoint_key, body.encode())}\n")
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(key: AuditKey) -> Iterator[Checkpoint]:
    path = checkpoints_path()
    if not path.exists():
        return
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                text = ""
            match = _CHECKPOINT_LINE.match(text.rstrip("\n")) if text.endswith("\n") else None
            if match is None:
                raise AnchorFault(line_no, "行の形式が正しくありません")
            seq, entry_hash, size, at, reason, signature = (
                int(match[1]),
                match[2],
                int(match[3]),
                match[4],
                match[5],
                match[6],
            )
            body = _checkpoint_body(seq, entry_hash, size, at, reason)
            if signature != tag(key.checkpoint_key, body.encode()):
                raise AnchorFault(line_no, "署名が一致しません(偽造されたチェックポイント)")
            yield Checkpoint(line_no, seq, entry_hash, size, at, reason)

"""The archive inside the age layer: a strict subset of POSIX ustar.

Writing: ustar headers made by `tarfile` (regular files only, mode 0644, uid/gid 0), data
streamed by us, two zero blocks at the end, then zero padding up to a whole number of
64 KiB age chunks (so a cut file is always recognisable, see age.AgeReader).

Reading: our own parser, not `tarfile`, because the input is hostile until the manifest
signature is checked: no pax or GNU extension headers (which tarfile would read into
memory whatever their size), only regular files, no absolute paths, no "..", no links,
no devices, no duplicates.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from .errors import Refused

BLOCK = 512
PAD_TO = 64 * 1024
MAX_MEMBER_SIZE = 8**11 - 1  # what an 11-digit octal size field holds (8 GiB - 1)

# One path segment: starts with a letter or digit, then letters, digits, ".", "_", "-".
_SEGMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class _Reader(Protocol):
    def read(self, n: int) -> bytes: ...


def check_member_name(name: str) -> None:
    """Refuse names that could escape an extraction directory (path_traversal)."""
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise Refused("path_traversal", detail=repr(name[:200]), reason="unsafe_name", name=name)


def is_portable_name(name: str) -> bool:
    """Names Genchi writes: segments of [A-Za-z0-9._-], at most 200 bytes in all."""
    return len(name) <= 200 and all(_SEGMENT_RE.fullmatch(p) for p in name.split("/"))


def member_header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")


def member_padding(size: int) -> bytes:
    return b"\x00" * (-size % BLOCK)


def archive_end(total_so_far: int) -> bytes:
    """Two zero blocks, then zeros up to a multiple of 64 KiB."""
    end = 2 * BLOCK
    end += -(total_so_far + end) % PAD_TO
    return b"\x00" * end


@dataclass(frozen=True)
class Member:
    name: str
    size: int


def _octal(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:
        raise Refused("unknown_format", detail="base-256 number in tar header")
    text = field.rstrip(b"\x00 ").lstrip(b" ")
    if not text:
        return 0
    if not re.fullmatch(rb"[0-7]+", text):
        raise Refused("unknown_format", detail="bad octal field in tar header")
    return int(text, 8)


def _bad_archive(detail: str) -> Refused:
    return Refused("unknown_format", detail=detail, reason="bad_archive")


class ArchiveReader:
    """Sequential, strict reader of the archive produced by this module."""

    def __init__(self, stream: _Reader) -> None:
        self._stream = stream
        self._remaining = 0  # data bytes of the current member not yet read
        self._padding = 0
        self._seen: set[str] = set()
        self.finished = False

    def _read_exact(self, n: int) -> bytes:
        data = self._stream.read(n)
        if len(data) == n:
            return data
        parts, got = [data], len(data)
        while got < n:
            more = self._stream.read(n - got)
            if not more:
                raise Refused("truncated", detail="archive ends inside a member")
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    def _skip_rest(self) -> None:
        for _piece in self.read_data():
            pass
        if self._padding:
            if any(self._read_exact(self._padding)):
                raise _bad_archive("non-zero member padding")
            self._padding = 0

    def next_member(self) -> Member | None:
        """The next member's header, or None at the end of the archive."""
        self._skip_rest()
        block = self._read_exact(BLOCK)
        if not any(block):
            self._finish()
            return None
        stored = _octal(block[148:156])
        computed = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
        if stored != computed:
            raise _bad_archive("bad header checksum")
        if block[257:265] != b"ustar\x0000":
            raise _bad_archive("not a POSIX ustar header")
        raw_name = block[0:100].split(b"\x00", 1)[0]
        prefix = block[345:500].split(b"\x00", 1)[0]
        try:
            name = ((prefix + b"/" if prefix else b"") + raw_name).decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(
                "path_traversal", detail="name not UTF-8", reason="name_not_utf8"
            ) from None
        typeflag = block[156:157]
        if typeflag in (b"1", b"2"):
            raise Refused("link_member", detail=repr(name[:200]), reason="link", name=name)
        if typeflag in (b"3", b"4", b"5", b"6", b"7"):
            raise Refused("special_member", detail=repr(name[:200]), reason="special", name=name)
        if typeflag not in (b"0", b"\x00"):
            raise _bad_archive(f"unsupported tar entry type {typeflag!r}")
        check_member_name(name)
        if name in self._seen:
            raise Refused("duplicate_member", detail=repr(name), reason="duplicate_name", name=name)
        self._seen.add(name)
        size = _octal(block[124:136])
        self._remaining = size
        self._padding = -size % BLOCK
        return Member(name, size)

    def _finish(self) -> None:
        # After the end-of-archive block only zero padding may follow.
        while data := self._stream.read(1 << 20):
            if any(data):
                raise Refused("unexpected_member", reason="data_after_end")
        self.finished = True

    def read_data(self, chunk: int = 1 << 20) -> Iterator[bytes]:
        """The current member's data, in pieces of at most `chunk` bytes."""
        while self._remaining:
            # Pieces as the decryptor delivers them (one age chunk at a time), no copying.
            data = self._stream.read(min(self._remaining, chunk))
            if not data:
                raise Refused("truncated", detail="archive ends inside a member")
            self._remaining -= len(data)
            yield data

"""Encrypting an archive whose layout is fixed in advance, in one streaming pass.

write_package knows where every byte of the archive goes before it reads a photo: the
records are staged and hashed first, photo sizes come from stat(), and the manifest's
length does not depend on the hash values. So the archive's plaintext is given here as a
list of parts in order, and encrypt_parts walks it once: it fills a 1 MiB buffer from the
parts (photos are read straight into it and hashed there, so each photo is read once),
encrypts the buffer's chunks and writes them at their place. The first `deferred` chunks
(where the manifest goes) are kept back and returned: the caller writes them last, once
the photo hashes are known.

A handover is bounded by the medium (a USB 3 stick writes at 30-400 MB/s), not by this
loop, so one thread is enough; what matters is that the stick is busy from the first
megabytes. Left alone, the kernel would keep a package of a few GB in memory and write it
only at the final fsync, after all the hashing and encrypting; so every WRITEBACK_BYTES
the pages written so far are handed to the kernel to write out now (posix_fadvise
DONTNEED: start writing back, and drop from the page cache what is already on the stick,
as the package is never read back). The final fsync then waits only for the tail
(docs/performance.md).

Memory is bounded whatever the package size: one plaintext and one ciphertext buffer of
1 MiB, plus the kept-back chunks (the manifest, at most 16 MiB; about 130 bytes a photo).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.utils.functional import lazy
from django.utils.translation import gettext as _

from . import age

CHUNK = age.CHUNK_SIZE
PIECE_CHUNKS = 16  # read, encrypt and write 1 MiB at a time
WRITEBACK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class FilePart:
    """A photo, read once; its size and mtime must still be those the layout was made with."""

    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class StreamPart:
    """`size` bytes produced in order by `chunks()` (a staged member)."""

    size: int
    chunks: Callable[[], Iterable[bytes]]


Part = bytes | FilePart | StreamPart


def part_size(part: Part) -> int:
    return len(part) if isinstance(part, bytes) else part.size


def _photo_changed_message(name: str) -> str:
    return _("写真が書き出し中に変更されました: %(name)s") % {"name": name}


def photo_changed(path: Path) -> ValueError:
    # The message stays lazy and is put into words when shown (str(exc)), in the language
    # active there.
    return ValueError(lazy(_photo_changed_message, str)(path.name))


def encrypt_parts(
    writer: age.AgeFileWriter, parts: Sequence[Part], *, deferred: int = 0
) -> tuple[list[str], bytearray]:
    """Encrypt and write the archive made of `parts` (their sizes add up to the writer's
    plaintext size), except its first `deferred` chunks: their plaintext is returned for
    the caller to patch and write (writer.write(0, …)). Returns the SHA-256 (hex) of each
    FilePart, in order, and that plaintext. Raises ValueError (photo_changed) when a
    photo is not what the layout assumed; the file is then incomplete."""
    if sum(part_size(p) for p in parts) != writer.plaintext_size:
        raise ValueError("the parts do not fill the file")
    out = _Output(writer, deferred)
    hashes: list[str] = []
    for part in parts:
        if isinstance(part, bytes):
            out.put(part)
        elif isinstance(part, StreamPart):
            _copy_stream(part, out)
        else:
            hashes.append(_copy_photo(part, out))
    out.finish()
    return hashes, out.held


class _Output:
    """The plaintext buffer: filled in order, encrypted and written a buffer at a time."""

    def __init__(self, writer: age.AgeFileWriter, deferred: int) -> None:
        self.writer = writer
        self.deferred = deferred
        self.plain = bytearray(PIECE_CHUNKS * CHUNK)
        self.view = memoryview(self.plain)
        self.cipher = bytearray(PIECE_CHUNKS * age.ENCRYPTED_CHUNK_SIZE)
        self.filled = 0
        self.chunk = 0  # index of the buffer's first chunk in the file
        self.held = bytearray()
        self.written_back = 0  # the file's bytes handed to the kernel to write out

    def room(self) -> memoryview:
        """The free end of the buffer (never empty: a full buffer is flushed at once)."""
        return self.view[self.filled :]

    def advance(self, n: int) -> None:
        self.filled += n
        if self.filled == len(self.plain):
            self.flush()

    def put(self, data: bytes | memoryview) -> None:
        data = memoryview(data)
        while data:
            room = self.room()
            take = min(len(room), len(data))
            room[:take] = data[:take]
            data = data[take:]
            self.advance(take)

    def flush(self) -> None:
        """Encrypt and write the buffer (whole chunks, or the file's last one)."""
        view = self.view[: self.filled]
        kept = max(0, min(self.deferred - self.chunk, PIECE_CHUNKS)) * CHUNK
        if kept:
            self.held += view[:kept]
        if len(view) > kept:
            self.writer.write(self.chunk + kept // CHUNK, view[kept:], self.cipher)
            self.write_back(self.writer.chunk_offset(self.chunk + len(view) // CHUNK))
        self.chunk += PIECE_CHUNKS
        self.filled = 0

    def write_back(self, end: int) -> None:
        """Have the kernel start writing the file up to `end` to the medium now."""
        if end - self.written_back >= WRITEBACK_BYTES and hasattr(os, "posix_fadvise"):
            start, self.written_back = self.written_back, end
            os.posix_fadvise(self.writer.fd, start, end - start, os.POSIX_FADV_DONTNEED)

    def finish(self) -> None:
        if self.filled:
            self.flush()


def _copy_stream(part: StreamPart, out: _Output) -> None:
    size = 0
    for piece in part.chunks():
        size += len(piece)
        if size > part.size:
            raise RuntimeError("a staged member is longer than announced")
        out.put(piece)
    if size != part.size:
        raise RuntimeError("a staged member is shorter than announced")


def _copy_photo(part: FilePart, out: _Output) -> str:
    """Read the photo straight into the buffer, hashing it there; return its SHA-256."""
    h = hashlib.sha256()
    with _open_unchanged(part) as f:
        remaining = part.size
        while remaining:
            room = out.room()
            room = room[: min(len(room), remaining)]
            if _readinto_exact(f, room) != len(room):
                raise photo_changed(part.path)
            h.update(room)
            remaining -= len(room)
            out.advance(len(room))
        _check_read_whole(f, part)
    return h.hexdigest()


def _open_unchanged(part: FilePart) -> io.RawIOBase:
    """Open a photo for reading, refusing one whose size or mtime is not the layout's."""
    f = open(part.path, "rb", buffering=0)  # noqa: SIM115 (the caller closes it)
    try:
        st = os.fstat(f.fileno())
        if (st.st_size, st.st_mtime_ns) != (part.size, part.mtime_ns):
            raise photo_changed(part.path)
    except BaseException:
        f.close()
        raise
    return f


def _check_read_whole(f: io.RawIOBase, part: FilePart) -> None:
    """After the last byte the layout expects: nothing more, and not touched meanwhile."""
    if f.read(1) or os.fstat(f.fileno()).st_mtime_ns != part.mtime_ns:
        raise photo_changed(part.path)


def _readinto_exact(f: io.RawIOBase, view: memoryview) -> int:
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            break
        done += n
    return done

"""Writing a package (docs/package-format.md, section 10), in one streaming pass.

write_package stages the records (in memory, or encrypted on disk when large) and hashes
them; the archive's layout is then fixed before any photo is read (photo sizes come from
stat(), and the manifest's length does not depend on the hash values). encrypt_parts walks
the archive once, in order: it fills a 1 MiB buffer from the parts (photos are read
straight into it and hashed there, so each photo is read once), encrypts the buffer's
chunks and writes them at their place. The first `deferred` chunks (where the manifest
goes) are kept back: they are written last, once the photo hashes are known and the
manifest is signed.

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
The file appears under its final name only when complete and fsync'd; on any failure the
partial file is removed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from . import age
from .archive import archive_end, is_portable_name, member_header, member_padding
from .errors import Refused
from .keys import SigningKeyPair, key_id
from .manifest import (
    KINDS,
    MANIFEST_NAME,
    PHOTOS_DIR,
    RECORD_SCHEMAS,
    RECORDS_CSV,
    RECORDS_JSONL,
    SIGNATURE_NAME,
    Manifest,
    MemberEntry,
    is_code,
    package_digest,
    sign_manifest,
)
from .records import CsvEncoder, check_record, default_columns, jsonl_line

log = logging.getLogger("genchi.package_format")

IO_CHUNK = 1024 * 1024
FILE_SUFFIX = ".genchi.age"
CHUNK = age.CHUNK_SIZE
PIECE_CHUNKS = 16  # read, encrypt and write 1 MiB at a time
WRITEBACK_BYTES = 16 * 1024 * 1024  # hand the medium what was written, this much at a time

SigningKeyLike = Ed25519PrivateKey | SigningKeyPair | bytes


@dataclass(frozen=True)
class PhotoSource:
    """A photo to pack: the file on disk and its name inside photos/ (e.g. "C0001/1.jpg")."""

    path: str | os.PathLike[str]
    name: str


@dataclass(frozen=True)
class WrittenPackage:
    package_id: str
    path: Path
    # The package digest (SHA-256 of the exact signed manifest.json bytes), for the
    # handover slip. Not the hash of the encrypted file (that is reader.file_sha256).
    digest: str
    size: int  # bytes of the encrypted file
    record_count: int
    manifest: Manifest


def _signing_key(key: SigningKeyLike) -> Ed25519PrivateKey:
    if isinstance(key, SigningKeyPair):
        return key.private_key
    if isinstance(key, bytes):
        return Ed25519PrivateKey.from_private_bytes(key)
    return key


def _recipients(recipients: str | Sequence[str]) -> list[str]:
    items = [recipients] if isinstance(recipients, str) else list(recipients)
    for r in items:
        try:
            age.parse_recipient(r)
        except ValueError:
            raise ValueError(f"not an age X25519 recipient: {r[:20]!r}") from None
    return items


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Spool:
    """Staging for a member that must be hashed before the manifest is written.

    In memory up to MEMORY_LIMIT; beyond it, in a temporary file encrypted with a random
    key that only this object knows, so personal data never reaches the disk in clear.
    """

    MEMORY_LIMIT = 8 * 1024 * 1024

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._mem = bytearray()
        self._file: BinaryIO | None = None
        self._aead: ChaCha20Poly1305 | None = None
        self._pending = bytearray()
        self._counter = 0
        self.size = 0
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)
        if self._file is None:
            self._mem += data
            if len(self._mem) > self.MEMORY_LIMIT:
                self._file = tempfile.TemporaryFile(dir=self._dir)  # noqa: SIM115
                self._aead = ChaCha20Poly1305(ChaCha20Poly1305.generate_key())
                self._pending, self._mem = self._mem, bytearray()
                self._flush(final=False)
        else:
            self._pending += data
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        assert self._file is not None and self._aead is not None
        pending, pos = self._pending, 0
        while len(pending) - pos >= age.CHUNK_SIZE or (final and pos < len(pending)):
            piece = bytes(pending[pos : pos + age.CHUNK_SIZE])
            self._file.write(self._aead.encrypt(self._counter.to_bytes(12, "big"), piece, None))
            self._counter += 1
            pos += len(piece)
        del pending[:pos]

    def chunks(self) -> Iterator[bytes]:
        if self._file is None:
            for pos in range(0, len(self._mem), IO_CHUNK):
                yield bytes(self._mem[pos : pos + IO_CHUNK])
            return
        assert self._aead is not None
        self._flush(final=True)
        self._file.seek(0)
        counter = 0
        while ct := self._file.read(age.ENCRYPTED_CHUNK_SIZE):
            yield self._aead.decrypt(counter.to_bytes(12, "big"), ct, None)
            counter += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._mem = bytearray()


def _check_free_space(directory: Path, needed: int) -> None:
    """Refuse before writing a byte when the stick cannot hold the package."""
    st = os.statvfs(directory)
    free = st.f_bavail * st.f_frsize
    if free < needed:
        raise Refused(
            "no_space",
            detail=f"{needed} > {free} bytes",
            reason="space_needed",
            needed=needed,
            free=free,
        )


def _photo_stat(path: Path) -> tuple[int, int]:
    """(size, mtime_ns) of a photo, which must be a regular file."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise Refused("not_a_file", detail=path.name, reason="irregular_photo", name=path.name)
    return st.st_size, st.st_mtime_ns


def _safe_filename_part(text: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() or c in "-_" else "_" for c in text)[:40]


def write_package(
    *,
    kind: str,
    contract: str,
    sender: str,
    recipient: str,
    records: Iterable[Mapping[str, Any]],
    signing_key: SigningKeyLike,
    out_dir: str | os.PathLike[str],
    recipients: str | Sequence[str] = (),
    passphrase: str | None = None,
    csv_columns: Sequence[tuple[str, str]] | None = None,
    batch: str | None = None,
    answers: str | None = None,
    photos: Iterable[PhotoSource | tuple[str | os.PathLike[str], str]] = (),
    created_at: datetime | None = None,
    scrypt_work_factor: int = age.DEFAULT_SCRYPT_WORK_FACTOR,
) -> WrittenPackage:
    """Write one package atomically into `out_dir` and return what the handover slip needs.

    `records` is consumed once, as a stream. `csv_columns` is the CSV column order as
    (record key, header) pairs (for kind="cases" it defaults to the J3 items). Encrypt to
    the X25519 `recipients` ("age1…") or with `passphrase` (scrypt), exactly one of them.
    Raises Refused for what the data can cause (a record outside its schema, a bad or
    duplicate photo name, a photo changed while packed, a stick too small), ValueError for
    arguments only a programming mistake gives, OSError from the file system; nothing is
    left behind on failure.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    codes = {"contract": contract, "sender": sender, "recipient": recipient}
    if batch is not None:
        codes["batch"] = batch
    for label, value in codes.items():
        if not is_code(value):
            raise ValueError(f"bad {label} code: {value!r}")
    if answers is not None and str(uuid.UUID(answers)) != answers:
        raise ValueError("answers is a package id (UUID)")
    if (not recipients) == (passphrase is None):
        raise ValueError("give either recipients or a passphrase")
    recipient_list = _recipients(recipients) if recipients else []
    columns = tuple(csv_columns) if csv_columns is not None else default_columns(kind)
    if not columns:
        raise ValueError("csv_columns (column order and headers) is required")
    created = created_at or datetime.now(UTC)
    if created.tzinfo is None:
        raise ValueError("created_at needs a time zone")
    created_text = created.replace(microsecond=0).isoformat()
    private_key = _signing_key(signing_key)
    out = Path(out_dir)
    if not out.is_dir():
        raise ValueError(f"no such output folder: {out}")

    photo_list = [p if isinstance(p, PhotoSource) else PhotoSource(*p) for p in photos]
    if photo_list and kind != "results":
        raise ValueError("only results packages hold photos")
    names = [PHOTOS_DIR + p.name for p in photo_list]
    bad = [n for n in names if not is_portable_name(n)]
    if bad:
        raise Refused("bad_member_name", detail=repr(bad[0]), reason="bad_photo_name", name=bad[0])
    if len(set(names)) != len(names):
        raise Refused("duplicate_member", reason="duplicate_photo")

    package_id = str(uuid.uuid4())
    jsonl, csvs = _Spool(out), _Spool(out)
    try:
        count = 0
        encoder = CsvEncoder(columns)
        csvs.write(encoder.header())
        for record in records:
            problem = check_record(kind, record)
            if problem:
                reason, values = problem
                raise Refused(
                    "bad_record",
                    detail=f"record {count + 1}",
                    reason=reason,
                    record=count + 1,
                    **values,
                )
            jsonl.write(jsonl_line(record))
            csvs.write(encoder.row(record))
            count += 1

        # Photos are read once. Everything in the archive except the manifest and its
        # signature is known before the photos are hashed, and the manifest's length does
        # not depend on the hash values (64 hex digits each), so the layout is fixed in
        # advance: encrypt_parts streams everything else, and the age chunks holding
        # manifest.json and manifest.sig are encrypted last, once the photo hashes are known.
        stats = [_photo_stat(Path(p.path)) for p in photo_list]
        photo_hashes = ["0" * 64] * len(photo_list)

        def build_manifest() -> Manifest:
            members = [
                MemberEntry(RECORDS_JSONL, jsonl.size, jsonl.hash.hexdigest()),
                MemberEntry(RECORDS_CSV, csvs.size, csvs.hash.hexdigest()),
                *(
                    MemberEntry(n, st[0], h)
                    for n, st, h in zip(names, stats, photo_hashes, strict=True)
                ),
            ]
            return Manifest(
                package_id=package_id,
                kind=kind,
                contract=contract,
                batch=batch,
                sender=sender,
                recipient=recipient,
                created_at=created_text,
                answers=answers,
                record_count=count,
                photo_count=len(photo_list),
                csv_columns=columns,
                members=tuple(members),
                signing_key=key_id(private_key.public_key().public_bytes_raw()),
                record_schema=RECORD_SCHEMAS[kind],
            )

        mtime = int(created.timestamp())

        def head_members(manifest_bytes: bytes, signature: bytes) -> bytes:
            return b"".join(
                member_header(name, len(data), mtime) + data + member_padding(len(data))
                for name, data in ((MANIFEST_NAME, manifest_bytes), (SIGNATURE_NAME, signature))
            )

        draft = build_manifest().to_bytes()
        prefix_len = len(head_members(draft, bytes(64)))
        parts: list[Part] = [bytes(prefix_len)]  # the manifest's place, filled last
        for name, spool in ((RECORDS_JSONL, jsonl), (RECORDS_CSV, csvs)):
            parts += [
                member_header(name, spool.size, mtime),
                StreamPart(spool.size, spool.chunks),
                member_padding(spool.size),
            ]
        for name, photo, (size, mtime_ns) in zip(names, photo_list, stats, strict=True):
            parts += [
                member_header(name, size, mtime),
                FilePart(Path(photo.path), size, mtime_ns),
                member_padding(size),
            ]
        plaintext_size = sum(part_size(p) for p in parts)
        parts.append(archive_end(plaintext_size))
        plaintext_size += len(parts[-1])

        stamp = created.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        final = out / (
            f"genchi-{kind}-{_safe_filename_part(contract)}-{stamp}-{package_id[:8]}{FILE_SUFFIX}"
        )
        tmp = out / f".{final.name}.{secrets.token_hex(4)}.part"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            writer = age.AgeFileWriter(
                fd,
                plaintext_size,
                recipients=recipient_list,
                passphrase=passphrase,
                scrypt_work_factor=scrypt_work_factor,
            )
            _check_free_space(out, writer.file_size)
            photo_hashes[:], held = encrypt_parts(
                writer, parts, deferred=-(-prefix_len // age.CHUNK_SIZE)
            )
            manifest = build_manifest()
            manifest_bytes = manifest.to_bytes()
            head = head_members(manifest_bytes, sign_manifest(manifest_bytes, private_key))
            if len(head) != prefix_len:  # cannot happen: the manifest's fields are fixed-width
                raise RuntimeError("manifest length changed")
            held[:prefix_len] = head
            writer.write(0, held)
            os.fsync(fd)
            digest = package_digest(manifest_bytes)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        try:
            if final.exists():
                raise FileExistsError(final)
            os.rename(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(out)
    finally:
        jsonl.close()
        csvs.close()
    size = final.stat().st_size
    log.info(
        "package written: id=%s kind=%s contract=%s records=%d photos=%d bytes=%d",
        package_id,
        kind,
        contract,
        count,
        len(photo_list),
        size,
    )
    return WrittenPackage(package_id, final, digest, size, count, manifest)


# --- the streaming pass ---------------------------------------------------------------------


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


def photo_changed(path: Path) -> Refused:
    return Refused("photo_changed", detail=path.name, reason="changed_photo", name=path.name)


def encrypt_parts(
    writer: age.AgeFileWriter, parts: Sequence[Part], *, deferred: int = 0
) -> tuple[list[str], bytearray]:
    """Encrypt and write the archive made of `parts` (their sizes add up to the writer's
    plaintext size), except its first `deferred` chunks: their plaintext is returned for
    the caller to patch and write (writer.write(0, …)). Returns the SHA-256 (hex) of each
    FilePart, in order, and that plaintext. Raises Refused (photo_changed) when a
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

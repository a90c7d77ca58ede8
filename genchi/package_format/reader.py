"""Reading a package (docs/package-format.md, section 11): verify, read, inspect.

Reading is two passes over the encrypted file, neither of which stores anything: the
first (open_package) authenticates and checks everything; only then does the caller ask
for the records and photos (second pass), which are checked again against the verified
manifest (hence the package digest) and every member hash, so a file swapped in between is
refused too. read_signed_manifest reads the manifest only, once its signature verified
(for a caller that learns from it what to expect). inspect_package reads the age header
and, with a key, the manifest and signature, and with a valid signature checks the whole
content as the first pass does (PackageInfo says exactly what it checked).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import age
from .archive import ArchiveReader
from .errors import Refused
from .keys import EncryptionKeyPair, PublicKeyCard
from .manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    PHOTOS_DIR,
    SIGNATURE_NAME,
    Manifest,
    MemberEntry,
    package_digest,
    parse_manifest,
    verify_signature,
)
from .records import MAX_LINE_BYTES, csv_cell, parse_jsonl_line

log = logging.getLogger("genchi.package_format")

IO_CHUNK = 1024 * 1024

PublicKeyLike = Ed25519PublicKey | PublicKeyCard | bytes
IdentityLike = str | EncryptionKeyPair | Sequence[str | EncryptionKeyPair]
ReplayCheck = Container[str] | Callable[[str], bool]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the encrypted file's bytes, as `sha256sum` prints it. Not part of
    writing or verifying (it costs a full read and hash of the file): on demand only."""
    h = hashlib.sha256()
    buf = bytearray(IO_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


@dataclass(frozen=True)
class ExtractedPhoto:
    name: str  # as in the archive, "photos/…"
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class PackageContents:
    manifest: Manifest
    digest: str  # the package digest (SHA-256 of the signed manifest.json)
    records: list[dict[str, Any]]
    photos: list[ExtractedPhoto]


@dataclass(frozen=True)
class PackageInfo:
    """What inspect_package can tell without showing any personal data.

    `signature` says what was checked of the manifest: "valid" (it verified with one of
    the sender keys given; `signer` says which), "invalid" (with none of them),
    "unsigned", or "not_checked" (no key given, or the file could not be opened). A valid
    signature proves the manifest only: `content` says whether the rest of the file was
    checked against it too, "valid" (every chunk authenticates, every member's size and
    SHA-256, the records and counts match, the file ends properly: what open_package
    checks, less the recipient, contract and replay), "invalid" (`content_refusal` says
    what failed) or "not_checked" (the signature is not valid: nothing to check against).
    """

    path: Path
    size: int
    file_sha256: str  # of the encrypted file's bytes (as sha256sum prints), NOT the digest
    encryption: str  # "x25519", "scrypt" or "other"
    stanza_count: int
    manifest: Manifest | None  # None when no key or passphrase was given
    signature: str  # "valid", "invalid", "unsigned" or "not_checked"
    digest: str | None = None  # the package digest; None when no key or passphrase was given
    content: str = "not_checked"  # "valid", "invalid" or "not_checked"
    content_refusal: Refused | None = None  # why the content is invalid
    signer: int | None = None  # index, in the keys given, of the one the signature verified


@dataclass(frozen=True)
class SignedManifest:
    """A manifest whose signature verified (read_signed_manifest); its content is not yet
    checked."""

    manifest: Manifest
    digest: str
    signer: int  # index, in the keys given, of the one the signature verified


def _public_key(key: PublicKeyLike) -> Ed25519PublicKey:
    if isinstance(key, PublicKeyCard):
        return key.signing_key
    if isinstance(key, bytes):
        return Ed25519PublicKey.from_public_bytes(key)
    return key


def _identities(identity: IdentityLike | None) -> list[str]:
    if identity is None:
        return []
    items = [identity] if isinstance(identity, (str, EncryptionKeyPair)) else list(identity)
    return [i.identity if isinstance(i, EncryptionKeyPair) else i for i in items]


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a byte stream into LF-terminated lines, each at most MAX_LINE_BYTES."""
    rest = b""
    for chunk in chunks:
        data = rest + chunk
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            yield data[start : end + 1]
            start = end + 1
        rest = data[start:]
        if len(rest) > MAX_LINE_BYTES:
            raise Refused("bad_record", detail="line too long", reason="line_too_long")
    if rest:
        yield rest  # a last line without LF; the caller rejects it


class _HashWorker:
    """A thread that runs SHA-256 updates (hashlib frees the GIL) while the caller's thread
    decrypts: reading a package costs about the decryption alone instead of both. At most
    DEPTH batches of about 1 MiB wait, which bounds memory."""

    DEPTH = 8

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Any, list[bytes]] | None] = queue.Queue(self.DEPTH)
        self._thread = threading.Thread(target=self._run, name="member-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            h, pieces = job
            for piece in pieces:
                h.update(piece)
            self._queue.task_done()
        self._queue.task_done()

    def submit(self, h: Any, pieces: list[bytes]) -> None:
        self._queue.put((h, pieces))

    def wait(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


class _MemberData:
    """The data of one member as a stream of pieces, hashed on the way (on `worker`'s
    thread when given; the pieces are immutable bytes, so no copy is needed)."""

    BATCH = IO_CHUNK

    def __init__(self, archive: ArchiveReader, worker: _HashWorker | None = None) -> None:
        self._archive = archive
        self._worker = worker
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.hash = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        worker = self._worker
        for piece in self._archive.read_data():
            if worker is None:
                self.hash.update(piece)
            else:
                self._pending.append(piece)
                self._pending_bytes += len(piece)
                if self._pending_bytes >= self.BATCH:
                    worker.submit(self.hash, self._pending)
                    self._pending, self._pending_bytes = [], 0
            yield piece

    def finish(self, entry: MemberEntry) -> None:
        for _piece in self:  # whatever the consumer left unread
            pass
        if self._worker is not None:
            if self._pending:
                self._worker.submit(self.hash, self._pending)
                self._pending, self._pending_bytes = [], 0
            self._worker.wait()
        if self.hash.hexdigest() != entry.sha256:
            raise Refused("hash_mismatch", detail=entry.name, reason="member_hash", name=entry.name)


def _csv_row_count(chunks: Iterable[bytes], manifest: Manifest) -> tuple[int, Refused | None]:
    """Rows after the header, and the first problem found (to raise once the member's hash
    matched) or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    problem: Refused | None = None

    def bad(reason: str) -> Refused:
        return Refused("bad_record", detail="records.csv", reason=reason)

    def text_lines() -> Iterator[str]:
        nonlocal problem
        first = True
        for line in _lines(chunks):
            try:
                text = decoder.decode(line)
            except UnicodeDecodeError:
                problem = problem or bad("csv_not_utf8")
                continue
            if first:
                if not text.startswith("\ufeff"):
                    problem = problem or bad("csv_no_bom")
                text = text.removeprefix("\ufeff")
                first = False
            yield text

    rows = 0
    header: list[str] | None = None
    try:
        for row in csv.reader(text_lines(), strict=True):
            if header is None:
                header = row
            else:
                rows += 1
    except csv.Error:
        problem = problem or bad("csv_unreadable")
    expected = [csv_cell(h) for _, h in manifest.csv_columns]
    if header is not None and header != expected:
        problem = problem or bad("csv_header")
    return rows, problem


def _check_envelope(
    manifest: Manifest,
    *,
    expected_contract: str,
    expected_recipient: str,
    expected_kind: str | Sequence[str] | None,
    expected_sender: str | None,
    already_imported: ReplayCheck | None,
) -> None:
    if manifest.recipient != expected_recipient:
        raise Refused(
            "wrong_recipient",
            detail=manifest.recipient,
            reason="recipient_named",
            recipient=manifest.recipient,
        )
    if manifest.contract != expected_contract:
        raise Refused(
            "wrong_contract",
            detail=manifest.contract,
            reason="contract_named",
            contract=manifest.contract,
        )
    if expected_sender is not None and manifest.sender != expected_sender:
        raise Refused(
            "wrong_sender", detail=manifest.sender, reason="sender_named", sender=manifest.sender
        )
    if expected_kind is not None:
        kinds = [expected_kind] if isinstance(expected_kind, str) else list(expected_kind)
        if manifest.kind not in kinds:
            raise Refused("wrong_kind", detail=manifest.kind)
    if already_imported is not None:
        seen = (
            already_imported(manifest.package_id)
            if callable(already_imported)
            else manifest.package_id in already_imported
        )
        if seen:
            raise Refused(
                "replayed",
                detail=manifest.package_id,
                reason="package_named",
                package_id=manifest.package_id,
            )


def _read_small(archive: ArchiveReader) -> bytes:
    """The current member's data (callers bound its size first)."""
    return b"".join(archive.read_data())


def _open_layers(
    fh: BinaryIO, identities: list[str], passphrase: str | None, max_work: int
) -> tuple[age.AgeReader, ArchiveReader, bytes, bytes | None]:
    """Decrypt, and read manifest.json and manifest.sig (None when absent)."""
    reader = age.AgeReader(
        fh,
        identities=identities,
        passphrase=passphrase,
        max_work_factor=max_work,
        hash_file=False,  # the manifest digest identifies the package, not the file hash
    )
    archive = ArchiveReader(reader)
    first = archive.next_member()
    if first is None or first.name != MANIFEST_NAME:
        raise Refused("unknown_format", reason="manifest_not_first")
    if first.size > MAX_MANIFEST_BYTES:
        raise Refused("unknown_format", detail=f"{first.size} bytes", reason="manifest_too_large")
    manifest_bytes = _read_small(archive)
    second = archive.next_member()
    if second is None or second.name != SIGNATURE_NAME:
        return reader, archive, manifest_bytes, None
    if second.size != 64:
        raise Refused("bad_signature", detail="signature length", reason="signature_length")
    return reader, archive, manifest_bytes, _read_small(archive)


class VerifiedPackage:
    """A package whose every check passed (see open_package); gives its contents.

    `digest` is the package digest (SHA-256 of the signed manifest.json, hex), to compare
    with the handover slip.
    """

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        manifest_bytes: bytes,
        digest: str,
        identities: list[str],
        passphrase: str | None,
        max_work: int,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.digest = digest
        self._identities = identities
        self._passphrase = passphrase
        self._max_work = max_work

    @property
    def package_id(self) -> str:
        return self.manifest.package_id

    @property
    def record_count(self) -> int:
        return self.manifest.record_count

    def _reopen(self, fh: BinaryIO) -> ArchiveReader:
        try:
            _, archive, manifest_bytes, _ = _open_layers(
                fh, self._identities, self._passphrase, self._max_work
            )
        except Refused as exc:
            raise _changed(exc.detail) from exc
        if manifest_bytes != self.manifest_bytes:
            raise _changed("manifest differs")
        return archive

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """The records, streamed (second pass). Store them in one transaction: if the file
        changed since verification, Refused("tampered") is raised, possibly after
        some records were yielded."""
        entry = self.manifest.members[0]
        with open(self.path, "rb") as fh:
            archive = self._reopen(fh)
            member = archive.next_member()
            if member is None or member.name != entry.name or member.size != entry.size:
                raise _changed("records member")
            data = _MemberData(archive)
            count = 0
            try:
                for line in _lines(data):
                    count += 1
                    yield parse_jsonl_line(self.manifest.kind, line, count)
                data.finish(entry)
            except Refused as exc:
                raise _changed(exc.code) from exc
            if count != self.manifest.record_count:
                raise _changed("record count")

    def read_all(self, photos_dir: str | os.PathLike[str] | None = None) -> PackageContents:
        """Records (as a list) and photos, in one second pass.

        The second pass checks again the manifest bytes (hence the digest), every member's
        size and SHA-256, the record count and the end of the file. Photos are written
        under `photos_dir` (name without the "photos/" prefix) only after the whole file
        verified again; on any failure nothing is left there.
        """
        if self.manifest.photo_count and photos_dir is None:
            raise ValueError("the package holds photos: give photos_dir")
        dest = Path(photos_dir) if photos_dir is not None else None
        staging: Path | None = None
        if dest is not None and self.manifest.photo_count:
            dest.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".genchi-extract-", dir=dest))
        try:
            records: list[dict[str, Any]] = []
            staged: list[tuple[MemberEntry, Path]] = []
            with open(self.path, "rb") as fh:
                reader = age.AgeReader(
                    fh,
                    identities=self._identities,
                    passphrase=self._passphrase,
                    max_work_factor=self._max_work,
                    hash_file=False,
                )
                archive = ArchiveReader(reader)
                worker = _HashWorker()
                try:
                    self._second_pass(archive, records, staged, staging, worker)
                except Refused as exc:
                    raise _changed(exc.code) from exc
                finally:
                    worker.close()
                if not reader.at_end:
                    raise _changed("payload continues after archive")
            photos: list[ExtractedPhoto] = []
            if dest is not None and staging is not None:
                photos = _move_into_place(staged, staging, dest)
            return PackageContents(self.manifest, self.digest, records, photos)
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)

    def _second_pass(
        self,
        archive: ArchiveReader,
        records: list[dict[str, Any]],
        staged: list[tuple[MemberEntry, Path]],
        staging: Path | None,
        worker: _HashWorker | None = None,
    ) -> None:
        for expected_name in (MANIFEST_NAME, SIGNATURE_NAME):
            member = archive.next_member()
            if member is None or member.name != expected_name:
                raise _changed("header members")
            data = _read_small(archive)
            if expected_name == MANIFEST_NAME and data != self.manifest_bytes:
                raise _changed("manifest differs")
        for index, entry in enumerate(self.manifest.members):
            member = archive.next_member()
            if member is None or member.name != entry.name or member.size != entry.size:
                raise _changed("member list")
            data = _MemberData(archive, worker)
            if index == 0:
                for number, line in enumerate(_lines(data), 1):
                    records.append(parse_jsonl_line(self.manifest.kind, line, number))
            elif index >= 2 and staging is not None:
                target = staging / f"{index:06d}"
                with open(target, "xb") as out:
                    for piece in data:
                        out.write(piece)
                    out.flush()
                    os.fsync(out.fileno())
                staged.append((entry, target))
            data.finish(entry)
        if archive.next_member() is not None:
            raise _changed("extra member")
        if len(records) != self.manifest.record_count:
            raise _changed("record count")


def _changed(detail: str | None) -> Refused:
    return Refused("tampered", detail=detail, reason="changed_after_verification")


def _move_into_place(
    staged: list[tuple[MemberEntry, Path]], staging: Path, dest: Path
) -> list[ExtractedPhoto]:
    targets = [(entry, tmp, dest / entry.name.removeprefix(PHOTOS_DIR)) for entry, tmp in staged]
    root = dest.resolve()
    for _entry, _tmp, target in targets:
        # Names were checked already; this guards against symlinks planted in dest.
        if not target.parent.resolve().is_relative_to(root) and target.parent.exists():
            raise ValueError(f"extraction target outside photos_dir: {target}")
        if target.exists() or target.is_symlink():
            raise FileExistsError(target)
    done: list[ExtractedPhoto] = []
    try:
        for entry, tmp, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.parent.resolve().is_relative_to(root):
                raise ValueError(f"extraction target outside photos_dir: {target}")
            os.rename(tmp, target)
            done.append(ExtractedPhoto(entry.name, target, entry.size, entry.sha256))
    except BaseException:
        for photo in done:
            photo.path.unlink(missing_ok=True)
        raise
    return done


def _log_refused(exc: Refused, path: Path, package_id: str | None) -> None:
    """One line per refusal, without personal data (codes, file name, package id)."""
    log.warning(
        "package refused: code=%s reason=%s file=%s package_id=%s detail=%s",
        exc.code,
        exc.reason or "-",
        path.name,
        package_id or "-",
        exc.detail or "-",
    )


def open_package(
    path: str | os.PathLike[str],
    *,
    sender_key: PublicKeyLike,
    expected_contract: str,
    expected_recipient: str,
    identity: IdentityLike | None = None,
    passphrase: str | None = None,
    already_imported: ReplayCheck,
    expected_kind: str | Sequence[str] | None = None,
    expected_sender: str | None = None,
    max_scrypt_work_factor: int = age.MAX_SCRYPT_WORK_FACTOR,
) -> VerifiedPackage:
    """Check a package completely (first pass) without storing anything.

    Checks, in order: age header and key (`identity` "AGE-SECRET-KEY-1…" or
    `passphrase`), header MAC, every chunk, the archive structure, the manifest signature
    against the trusted `sender_key`, the manifest schema, recipient, contract, sender,
    kind and replay (`already_imported`: a set of package ids or a callable), then every
    member's size and SHA-256, the record schema and counts, and that the file ends
    properly. Raises Refused (see errors.CODES); each refusal is logged.
    """
    p = Path(path)
    identities = _identities(identity)
    if not identities and passphrase is None:
        raise ValueError("give an identity or a passphrase")
    trusted = _public_key(sender_key)
    manifest: Manifest | None = None
    try:
        try:
            fh = open(p, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise Refused(
                "unknown_format", detail=str(exc), reason="cannot_open", file=p.name
            ) from None
        with fh:
            reader, archive, manifest_bytes, signature = _open_layers(
                fh, identities, passphrase, max_scrypt_work_factor
            )
            if signature is None:
                raise Refused("unsigned")
            verify_signature(manifest_bytes, signature, trusted)
            manifest = parse_manifest(manifest_bytes)
            _check_envelope(
                manifest,
                expected_contract=expected_contract,
                expected_recipient=expected_recipient,
                expected_kind=expected_kind,
                expected_sender=expected_sender,
                already_imported=already_imported,
            )
            worker = _HashWorker()
            try:
                _verify_members(archive, manifest, worker)
            finally:
                worker.close()
            if not reader.at_end:
                raise Refused("tampered", detail="payload continues after archive")
            digest = package_digest(manifest_bytes)
    except Refused as exc:
        _log_refused(exc, p, manifest.package_id if manifest else None)
        raise
    log.info("package verified: id=%s file=%s", manifest.package_id, p.name)
    return VerifiedPackage(
        p, manifest, manifest_bytes, digest, identities, passphrase, max_scrypt_work_factor
    )


def _verify_members(
    archive: ArchiveReader, manifest: Manifest, worker: _HashWorker | None = None
) -> None:
    listed = {m.name for m in manifest.members}
    for index, entry in enumerate(manifest.members):
        member = archive.next_member()
        if member is None:
            raise Refused(
                "missing_member", detail=entry.name, reason="member_missing", name=entry.name
            )
        if member.name != entry.name:
            if member.name in listed:
                raise Refused(
                    "unexpected_member",
                    detail=member.name,
                    reason="member_out_of_order",
                    name=member.name,
                )
            raise Refused(
                "unexpected_member",
                detail=repr(member.name),
                reason="member_unlisted",
                name=member.name,
            )
        if member.size != entry.size:
            raise Refused("hash_mismatch", detail=entry.name, reason="member_size", name=entry.name)
        data = _MemberData(archive, worker)
        problem: Refused | None = None
        count = -1
        if index == 0:
            # Records are parsed while hashing; a problem is reported only after the hash
            # matched, so that damage is reported as damage, not as a bad record.
            count = 0
            try:
                for line in _lines(data):
                    count += 1
                    if not line.endswith(b"\n"):
                        problem = problem or Refused(
                            "bad_record", detail="records.jsonl", reason="last_line_no_lf"
                        )
                    try:
                        parse_jsonl_line(manifest.kind, line, count)
                    except Refused as exc:
                        problem = problem or exc
            except Refused as exc:
                problem = exc
        elif index == 1:
            count, problem = _csv_row_count(data, manifest)
        data.finish(entry)
        if problem:
            raise problem
        if index in (0, 1) and count != manifest.record_count:
            raise Refused(
                "count_mismatch",
                detail=f"{entry.name}: {count} != {manifest.record_count}",
                reason="member_count",
                name=entry.name,
                count=count,
                expected=manifest.record_count,
            )
    extra = archive.next_member()
    if extra is not None:
        raise Refused(
            "unexpected_member",
            detail=repr(extra.name),
            reason="member_unlisted",
            name=extra.name,
        )


def read_package(
    path: str | os.PathLike[str],
    *,
    sender_key: PublicKeyLike,
    expected_contract: str,
    expected_recipient: str,
    identity: IdentityLike | None = None,
    passphrase: str | None = None,
    already_imported: ReplayCheck,
    expected_kind: str | Sequence[str] | None = None,
    expected_sender: str | None = None,
    photos_dir: str | os.PathLike[str] | None = None,
    max_scrypt_work_factor: int = age.MAX_SCRYPT_WORK_FACTOR,
) -> PackageContents:
    """open_package() then read_all(): verified records and photos, or Refused."""
    package = open_package(
        path,
        sender_key=sender_key,
        expected_contract=expected_contract,
        expected_recipient=expected_recipient,
        identity=identity,
        passphrase=passphrase,
        already_imported=already_imported,
        expected_kind=expected_kind,
        expected_sender=expected_sender,
        max_scrypt_work_factor=max_scrypt_work_factor,
    )
    try:
        return package.read_all(photos_dir)
    except Refused as exc:
        _log_refused(exc, Path(path), package.package_id)
        raise


def _signer(manifest_bytes: bytes, signature: bytes, keys: Sequence[PublicKeyLike]) -> int | None:
    """Index of the first of `keys` the signature verifies with, or None."""
    for index, key in enumerate(keys):
        try:
            verify_signature(manifest_bytes, signature, _public_key(key))
        except Refused:
            continue
        return index
    return None


def read_signed_manifest(
    path: str | os.PathLike[str],
    *,
    sender_keys: Sequence[PublicKeyLike],
    identity: IdentityLike | None = None,
    passphrase: str | None = None,
    max_scrypt_work_factor: int = age.MAX_SCRYPT_WORK_FACTOR,
) -> SignedManifest:
    """The manifest, read only once its signature verified with one of `sender_keys`.

    For a reader that learns from the manifest what to expect (which contract, hence
    which sender), then calls open_package, which checks everything against that sender.
    Nothing of the manifest is parsed before its signature verified with a key the caller
    trusts; an unsigned manifest, or one no key verifies, is refused as such (`unsigned`,
    `bad_signature`). Decrypts the first two members only: the content is not checked.
    """
    p = Path(path)
    identities = _identities(identity)
    if not identities and passphrase is None:
        raise ValueError("give an identity or a passphrase")
    try:
        try:
            fh = open(p, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise Refused(
                "unknown_format", detail=str(exc), reason="cannot_open", file=p.name
            ) from None
        with fh:
            _, _, manifest_bytes, signature = _open_layers(
                fh, identities, passphrase, max_scrypt_work_factor
            )
        if signature is None:
            raise Refused("unsigned")
        signer = _signer(manifest_bytes, signature, sender_keys)
        if signer is None:
            raise Refused("bad_signature", detail="no trusted key verifies the manifest")
        manifest = parse_manifest(manifest_bytes)
    except Refused as exc:
        _log_refused(exc, p, None)
        raise
    return SignedManifest(manifest, package_digest(manifest_bytes), signer)


def inspect_package(
    path: str | os.PathLike[str],
    *,
    identity: IdentityLike | None = None,
    passphrase: str | None = None,
    sender_key: PublicKeyLike | None = None,
    sender_keys: Sequence[PublicKeyLike] = (),
    max_scrypt_work_factor: int = age.MAX_SCRYPT_WORK_FACTOR,
) -> PackageInfo:
    """The encryption mode and file hash; with a key or passphrase, also the manifest, the
    package digest, the signature status and, when the signature is valid, whether the
    whole content matches the manifest (PackageInfo says exactly what was checked).

    `sender_key` and `sender_keys` are the keys to verify the signature with (a caller
    that does not know the sender yet gives every key it trusts). The signature is
    verified before the manifest is parsed; a manifest no key verifies is still parsed,
    within the format's limits, to be shown as unverified. Hashes the whole encrypted file
    (`file_sha256`, as sha256sum prints it); with a valid signature, decrypts and hashes
    every member as open_package does, showing nothing of the records. Raises Refused if
    the file cannot be read as far as the manifest.
    """
    p = Path(path)
    keys = [*sender_keys, *([sender_key] if sender_key is not None else [])]
    file_hash = file_sha256(p)
    with open(p, "rb") as fh:
        header = age.read_header(age._HashingSource(fh, hashing=False))
        fh.seek(0)
        manifest: Manifest | None = None
        digest: str | None = None
        status = "not_checked"
        content, content_refusal, signer = "not_checked", None, None
        identities = _identities(identity)
        if identities or passphrase is not None:
            reader, archive, manifest_bytes, signature = _open_layers(
                fh, identities, passphrase, max_scrypt_work_factor
            )
            if signature is None:
                status = "unsigned"
            elif keys:
                signer = _signer(manifest_bytes, signature, keys)
                status = "invalid" if signer is None else "valid"
            manifest = parse_manifest(manifest_bytes)
            digest = package_digest(manifest_bytes)
            if status == "valid":
                content_refusal = _check_content(reader, archive, manifest)
                content = "valid" if content_refusal is None else "invalid"
    return PackageInfo(
        path=p,
        size=p.stat().st_size,
        file_sha256=file_hash,
        encryption=header.mode,
        stanza_count=len(header.stanzas),
        manifest=manifest,
        signature=status,
        digest=digest,
        content=content,
        content_refusal=content_refusal,
        signer=signer,
    )


def _check_content(
    reader: age.AgeReader, archive: ArchiveReader, manifest: Manifest
) -> Refused | None:
    """What open_package checks after the manifest (members, records, counts, the end of
    the file), as a refusal, or None when all of it holds."""
    worker = _HashWorker()
    try:
        _verify_members(archive, manifest, worker)
        if not reader.at_end:
            raise Refused("tampered", detail="payload continues after archive")
    except Refused as exc:
        return exc
    finally:
        worker.close()
    return None

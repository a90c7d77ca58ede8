"""Hand-made hostile packages: valid age encryption around archives Genchi never writes."""

from __future__ import annotations

import hashlib
import tarfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyrage

from genchi.transfer.archive import archive_end, member_padding
from genchi.transfer.manifest import Manifest, MemberEntry, canonical_json
from genchi.transfer.records import CASE_FIELDS, CsvEncoder, jsonl_line

RECORDS = [
    {
        "case_ref": "ref-0001",
        "postal_code": "160-0022",
        "address": "東京都練馬区豊玉北五丁目1番1号",
        "building_line": "",
        "name": "山田 太郎",
    }
]


def header(name: str, size: int, kind: bytes = tarfile.REGTYPE, link: str = "") -> bytes:
    info = tarfile.TarInfo("x")
    info.name = name
    info.size = size if kind == tarfile.REGTYPE else 0
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")


def tar(members: list[tuple]) -> bytes:
    """members: (name, data) or (name, b"", tarfile type, linkname)."""
    out = bytearray()
    for m in members:
        name, data = m[0], m[1]
        kind = m[2] if len(m) > 2 else tarfile.REGTYPE
        link = m[3] if len(m) > 3 else ""
        out += header(name, len(data), kind, link)
        out += data + member_padding(len(data))
    out += archive_end(len(out))
    return bytes(out)


def record_members(records=RECORDS) -> tuple[bytes, bytes]:
    jsonl = b"".join(jsonl_line(r) for r in records)
    enc = CsvEncoder(CASE_FIELDS)
    csv = enc.header() + b"".join(enc.row(r) for r in records)
    return jsonl, csv


def manifest_for(
    *,
    contract: str,
    sender: str,
    recipient: str,
    signing,
    members: list[tuple[str, bytes]],
    record_count: int | None = None,
    lie_hash: bool = False,
) -> Manifest:
    entries = []
    for name, data in members:
        digest = hashlib.sha256(data).hexdigest()
        if lie_hash and name == "records.jsonl":
            digest = hashlib.sha256(data + b"x").hexdigest()
        entries.append(MemberEntry(name, len(data), digest))
    return Manifest(
        package_id=str(uuid.uuid4()),
        kind="cases",
        contract=contract,
        batch="B9",
        sender=sender,
        recipient=recipient,
        created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        answers=None,
        record_count=len(RECORDS) if record_count is None else record_count,
        photo_count=0,
        csv_columns=CASE_FIELDS,
        members=tuple(entries),
        signing_key=signing.fingerprint.replace(" ", "").lower(),
    )


def encrypt_to(path: Path, plaintext: bytes, recipient: str) -> Path:
    path.write_bytes(pyrage.encrypt(plaintext, [pyrage.x25519.Recipient.from_str(recipient)]))
    return path


def signed_tar(manifest: Manifest, signing, extra: list[tuple], *, sign: bool = True) -> bytes:
    data = manifest.to_bytes()
    head = [("manifest.json", data)]
    if sign:
        head.append(("manifest.sig", signing.private_key.sign(data)))
    return tar(head + extra)


__all__ = [
    "RECORDS",
    "canonical_json",
    "encrypt_to",
    "manifest_for",
    "record_members",
    "signed_tar",
    "tar",
]

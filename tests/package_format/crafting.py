"""Hand-made hostile packages: valid age encryption around archives Genchi never writes.

`craft` builds a whole package file from a manifest dict and tar entries (each test breaks
one thing); the smaller helpers (`tar`, `manifest_for`, `signed_tar`, `encrypt_to`) let the
handover tests build one around their own organisations' keys."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyrage

from genchi.package_format import age
from genchi.package_format.archive import archive_end, member_padding
from genchi.package_format.manifest import Manifest, MemberEntry, canonical_json
from genchi.package_format.records import CASE_FIELDS, CsvEncoder, jsonl_line
from tests.package_format.packages import CASES, CONTRACT

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


def entry(
    name: str, data: bytes = b"", type_=tarfile.REGTYPE, linkname: str = ""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = linkname
    info.size = len(data) if type_ == tarfile.REGTYPE else 0
    info.mode = 0o644
    return info, data


def craft(
    keys,
    out: Path,
    *,
    extra: list | None = None,
    drop: set[str] = frozenset(),
    manifest_edit=None,
    records: list | None = None,
    before_records: list | None = None,
    sign_with=None,
    signature: bytes | None = None,
    photos: dict[str, bytes] | None = None,
    kind: str = "cases",
    cols: list[tuple[str, str]] | None = None,
    manifest_bytes_edit: Callable[[bytes], bytes] | None = None,
    jsonl: bytes | None = None,
) -> Path:
    """A package built by hand, as an attacker or a faulty implementation might.
    `manifest_bytes_edit` changes the serialised manifest before it is signed (what no
    dict can hold: NaN, an endless number); `jsonl` replaces records.jsonl's bytes."""
    records = CASES[:3] if records is None else records
    if jsonl is None:
        jsonl = b"".join(
            (
                json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
            ).encode()
            for r in records
        )
    cols = cols or [
        ("case_ref", "案件番号"),
        ("postal_code", "郵便番号"),
        ("address", "住所"),
        ("building_line", "方書"),
        ("name", "氏名"),
    ]
    csv_text = "\ufeff" + "".join(",".join(h for _, h in cols) + "\r\n" for _ in [0])
    csv_text += "".join(",".join(str(r.get(k, "")) for k, _ in cols) + "\r\n" for r in records)
    csv_bytes = csv_text.encode()
    photos = photos or {}
    members = [
        ("records.jsonl", jsonl),
        ("records.csv", csv_bytes),
        *((f"photos/{n}", d) for n, d in photos.items()),
    ]
    manifest = {
        "format": "genchi-package",
        "format_version": 1,
        "package_id": str(uuid.uuid4()),
        "kind": kind,
        "record_schema": f"genchi/{kind}/v1",
        "contract": CONTRACT,
        "batch": None,
        "sender": "WARD01",
        "recipient": "CON01",
        "created_at": "2026-06-01T09:00:00+09:00",
        "answers": None,
        "record_count": len(records),
        "photo_count": len(photos),
        "csv_columns": [{"header": h, "key": k} for k, h in cols],
        "members": [
            {"name": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in members
        ],
        "signing_key": hashlib.sha256(keys["ward"].signing.public_key_bytes).hexdigest(),
    }
    if manifest_edit:
        manifest_edit(manifest)
    manifest_bytes = canonical_json(manifest)
    if manifest_bytes_edit:
        manifest_bytes = manifest_bytes_edit(manifest_bytes)
    sig = (
        signature
        if signature is not None
        else (sign_with or keys["ward"].signing).private_key.sign(manifest_bytes)
    )
    entries = [entry("manifest.json", manifest_bytes), entry("manifest.sig", sig)]
    entries += before_records or []
    entries += [entry(n, d) for n, d in members]
    entries += extra or []
    entries = [e for e in entries if e[0].name not in drop]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    path = out / f"crafted-{uuid.uuid4().hex[:8]}.age"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        plaintext = buf.getvalue()
        writer = age.AgeFileWriter(
            fd, len(plaintext), recipients=[keys["contractor"].encryption.recipient]
        )
        writer.write(0, plaintext)
    finally:
        os.close(fd)
    return path


# --- hostile manifests and age headers (issue 12: unverified bytes parsed first) ---------

NESTING = 10_000
HUGE_MANIFEST = 16 * 1024 * 1024 + 1  # one byte over the format's bound


def _replace_field(data: bytes, field: bytes, value: bytes) -> bytes:
    """The manifest `data` with `field`'s JSON value replaced by the raw `value`."""
    start = data.index(b'"' + field + b'":') + len(field) + 3
    end = start
    while data[end : end + 1] not in (b",", b"}"):
        end += 1
    return data[:start] + value + data[end:]


# name -> (the fault, made to signed manifest bytes; the reason it is refused with)
HOSTILE_MANIFESTS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "nan": (lambda d: _replace_field(d, b"record_count", b"NaN"), "manifest_number"),
    "infinity": (lambda d: _replace_field(d, b"photo_count", b"Infinity"), "manifest_number"),
    "minus_infinity": (
        lambda d: _replace_field(d, b"record_count", b"-Infinity"),
        "manifest_number",
    ),
    "long_integer": (
        lambda d: _replace_field(d, b"record_count", b"1" * 5000),
        "manifest_number",
    ),
    "huge_exponent": (lambda d: _replace_field(d, b"record_count", b"1e999"), "manifest_number"),
    "deep_nesting": (
        lambda d: _replace_field(d, b"answers", b"[" * NESTING + b"]" * NESTING),
        "manifest_too_deep",
    ),
    "huge": (
        lambda d: _replace_field(d, b"answers", b'"' + b"x" * HUGE_MANIFEST + b'"'),
        "manifest_too_large",
    ),
}


def age_with_header(stanzas: bytes, *, mac: bytes = b"A" * 43) -> bytes:
    """An age file with the hand-written stanza lines `stanzas`, a MAC of the right shape
    (that cannot verify) and a payload of junk: for the header parser, which must refuse
    a field before converting it."""
    return age.MAGIC + stanzas + b"--- " + mac + b"\n" + os.urandom(16 + 64)


def scrypt_stanza(work_factor: bytes) -> bytes:
    """A scrypt stanza asking `work_factor` (as written), with a salt and body of the right
    length."""
    return b"-> scrypt " + b"A" * 22 + b" " + work_factor + b"\n" + b"A" * 43 + b"\n"

"""The package manifest: schema, canonical serialisation, signature.

The manifest is serialised canonically (UTF-8 JSON, keys sorted, no whitespace, no ASCII
escaping, one trailing LF) and the Ed25519 signature covers exactly those bytes, stored
as the raw 64-byte member `manifest.sig`. A reader verifies the bytes it received, then
also checks they are canonical, so that one manifest has exactly one byte form.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import bounded_json
from .archive import check_member_name, is_portable_name
from .errors import Refused

FORMAT_NAME = "genchi-package"
FORMAT_VERSION = 1
KINDS = ("cases", "results", "certificate", "incident")
RECORD_SCHEMAS = {
    "cases": "genchi/cases/v1",
    "results": "genchi/results/v1",
    "certificate": "genchi/certificate/v1",
    "incident": "genchi/incident/v1",
}
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
RECORDS_JSONL = "records.jsonl"
RECORDS_CSV = "records.csv"
PHOTOS_DIR = "photos/"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024

_CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_FIELDS = {
    "format",
    "format_version",
    "package_id",
    "kind",
    "record_schema",
    "contract",
    "batch",
    "sender",
    "recipient",
    "created_at",
    "answers",
    "record_count",
    "photo_count",
    "csv_columns",
    "members",
    "signing_key",
}


def canonical_json(value: Any) -> bytes:
    return (
        json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
        )
        + "\n"
    ).encode("utf-8")


def is_code(value: object) -> bool:
    """Organisation, contract and batch codes: short, no spaces, no path characters."""
    return isinstance(value, str) and bool(_CODE_RE.fullmatch(value))


@dataclass(frozen=True)
class MemberEntry:
    name: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Manifest:
    package_id: str
    kind: str
    contract: str
    batch: str | None
    sender: str
    recipient: str
    created_at: str  # RFC 3339 with offset, seconds precision
    answers: str | None
    record_count: int
    photo_count: int
    csv_columns: tuple[tuple[str, str], ...]  # (record key, CSV header)
    members: tuple[MemberEntry, ...]  # in archive order, after manifest.json/.sig
    signing_key: str  # fingerprint of the sender's Ed25519 public key
    record_schema: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "package_id": self.package_id,
            "kind": self.kind,
            "record_schema": self.record_schema or RECORD_SCHEMAS[self.kind],
            "contract": self.contract,
            "batch": self.batch,
            "sender": self.sender,
            "recipient": self.recipient,
            "created_at": self.created_at,
            "answers": self.answers,
            "record_count": self.record_count,
            "photo_count": self.photo_count,
            "csv_columns": [{"header": h, "key": k} for k, h in self.csv_columns],
            "members": [m.to_json() for m in self.members],
            "signing_key": self.signing_key,
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    def member(self, name: str) -> MemberEntry | None:
        return next((m for m in self.members if m.name == name), None)


def package_digest(manifest_bytes: bytes) -> str:
    """The package digest: SHA-256 (lower-case hex) of the exact signed manifest.json
    bytes. It identifies the package's whole content (docs/package-format.md, section 4.3)."""
    return hashlib.sha256(manifest_bytes).hexdigest()


def sign_manifest(data: bytes, key: Ed25519PrivateKey) -> bytes:
    return key.sign(data)


def verify_signature(data: bytes, signature: bytes, key: Ed25519PublicKey) -> None:
    if len(signature) != 64:
        raise Refused("bad_signature", detail="signature length", reason="signature_length")
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise Refused("bad_signature") from None


def _bad(field: str) -> Refused:
    """The manifest's `field` is missing or malformed."""
    return Refused(
        "unknown_format", detail=f"manifest: {field}", reason="manifest_field", field=field
    )


def _bad_because(reason: str, detail: str) -> Refused:
    """The manifest is malformed as a whole (`reason`, see errors.REASONS)."""
    return Refused("unknown_format", detail=f"manifest: {detail}", reason=reason)


# bounded_json's kinds of failure -> the reason of the refusal.
_JSON_LIMIT_REASONS = {
    "not_json": "manifest_not_json",
    "too_large": "manifest_too_large",
    "too_deep": "manifest_too_deep",
    "number": "manifest_number",
}


def _req(obj: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise _bad(f"{key}")
    return value


def parse_manifest(data: bytes) -> Manifest:
    """Validate the manifest bytes and return the Manifest. Callers check the signature
    first wherever they know the sender's key; the parse is bounded either way (size,
    nesting, numbers: bounded_json), so that unverified bytes cannot do more than be
    refused."""
    try:
        obj = bounded_json.loads(data, max_bytes=MAX_MANIFEST_BYTES)
    except bounded_json.JsonLimit as exc:
        raise _bad_because(_JSON_LIMIT_REASONS[exc.kind], str(exc)) from None
    if not isinstance(obj, dict):
        raise _bad_because("manifest_not_object", "not a JSON object")
    if obj.get("format") != FORMAT_NAME:
        raise _bad("format")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise Refused(
            "unknown_format",
            detail=f"format version {version!r}",
            reason="format_version",
            version=version,
        )
    if canonical_json(obj) != data:
        raise _bad_because("manifest_not_canonical", "not canonical JSON")
    unknown = set(obj) - _FIELDS
    if unknown:
        names = ", ".join(sorted(unknown))
        raise Refused(
            "unknown_format",
            detail=f"manifest: unknown fields {names}",
            reason="manifest_unknown_fields",
            names=names,
        )
    package_id = _req(obj, "package_id", str)
    try:
        if str(uuid.UUID(package_id)) != package_id:
            raise ValueError
    except ValueError:
        raise _bad("package_id") from None
    kind = _req(obj, "kind", str)
    if kind not in KINDS:
        raise _bad("kind")
    if obj.get("record_schema") != RECORD_SCHEMAS[kind]:
        raise _bad("record_schema")
    for key in ("contract", "sender", "recipient"):
        if not is_code(obj.get(key)):
            raise _bad(key)
    if obj.get("batch") is not None and not is_code(obj["batch"]):
        raise _bad("batch")
    answers = obj.get("answers")
    if answers is not None:
        try:
            if not isinstance(answers, str) or str(uuid.UUID(answers)) != answers:
                raise ValueError
        except ValueError:
            raise _bad("answers") from None
    created_at = _req(obj, "created_at", str)
    try:
        parsed = datetime.fromisoformat(created_at)
    except ValueError:
        raise _bad("created_at") from None
    if parsed.tzinfo is None:
        raise _bad("created_at")
    record_count = _req(obj, "record_count", int)
    photo_count = _req(obj, "photo_count", int)
    if record_count < 0 or photo_count < 0:
        raise _bad("count")
    columns: list[tuple[str, str]] = []
    for col in _req(obj, "csv_columns", list):
        if not isinstance(col, dict) or set(col) != {"key", "header"}:
            raise _bad("csv_columns")
        if not isinstance(col["key"], str) or not isinstance(col["header"], str):
            raise _bad("csv_columns")
        columns.append((col["key"], col["header"]))
    members: list[MemberEntry] = []
    for m in _req(obj, "members", list):
        if not isinstance(m, dict) or set(m) != {"name", "size", "sha256"}:
            raise _bad("members")
        name, size, digest = m["name"], m["size"], m["sha256"]
        if not isinstance(name, str):
            raise _bad("members")
        check_member_name(name)
        if not is_portable_name(name):
            raise _bad(f"member name {name!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _bad("members.size")
        if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
            raise _bad("members.sha256")
        members.append(MemberEntry(name, size, digest))
    names = [m.name for m in members]
    if names[:2] != [RECORDS_JSONL, RECORDS_CSV] or len(set(names)) != len(names):
        raise _bad_because("manifest_member_order", "members out of order")
    photos = names[2:]
    if any(not n.startswith(PHOTOS_DIR) for n in photos) or len(photos) != photo_count:
        raise _bad("photos")
    if photos and kind != "results":
        raise _bad_because("manifest_photos_not_results", "photos outside a results package")
    signing_key = _req(obj, "signing_key", str)
    return Manifest(
        package_id=package_id,
        kind=kind,
        contract=obj["contract"],
        batch=obj.get("batch"),
        sender=obj["sender"],
        recipient=obj["recipient"],
        created_at=created_at,
        answers=answers,
        record_count=record_count,
        photo_count=photo_count,
        csv_columns=tuple(columns),
        members=tuple(members),
        signing_key=signing_key,
        record_schema=obj["record_schema"],
        format_version=version,
    )

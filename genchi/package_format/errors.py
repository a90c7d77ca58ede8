"""Refusals of the package format: one exception type, stable machine codes, no words.

Every refusal is `Refused(code, …)`. The codes are part of the format's specification
(docs/package-format.md, sections 9-11): readers and writers of other implementations
report the same ones, callers log them and tests assert them. The format never builds the
sentence a person reads: `reason` says which check refused (for a more precise message),
`params` carry the values such a message names (a member's name, two counts, the bytes
missing on the stick; never personal data), and the application turns all of it into
words in its user's language (Genchi: genchi/transfer/refusals.py).

An application built on the format refuses its own steps with the same exception: it
registers its codes once (`register_codes`) and passes its message, already translated
(`Refused("not_allowed", _("…"))`). A code or a reason not registered is a programming
error (ValueError).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# code -> what it means (for implementers and logs; the user's words are the caller's).
CODES: dict[str, str] = {
    # reading a package (section 11)
    "unknown_format": "not a Genchi package, or a version or feature this reader does not read",
    "wrong_key": "no recipient stanza opens with the given identity or passphrase",
    "tampered": "a header MAC or payload chunk does not authenticate, or the file changed",
    "truncated": "the file ends early",
    "unsigned": "the manifest has no signature member",
    "bad_signature": "the manifest signature does not verify with the sender's registered key",
    "wrong_contract": "the package belongs to another contract",
    "wrong_recipient": "the package is addressed to another organisation",
    "wrong_sender": "the package comes from another organisation than expected",
    "wrong_kind": "the package is of another kind than expected",
    "replayed": "the package was imported before",
    "path_traversal": "a member name is absolute, climbs out (..) or is not valid UTF-8",
    "link_member": "a member is a hard or symbolic link",
    "special_member": "a member is a device, directory, FIFO or contiguous file",
    "duplicate_member": "two members (or two photos to pack) have the same name",
    "unexpected_member": "a member is not listed in the manifest, or out of order",
    "missing_member": "a member listed in the manifest is not in the archive",
    "hash_mismatch": "a member's size or SHA-256 differs from the manifest",
    "count_mismatch": "a record count differs from the one recorded",
    "bad_record": "a record does not fit its schema, or records.csv is malformed",
    # writing a package (section 10)
    "photo_changed": "a photo's size or modification time changed while it was packed",
    "not_a_file": "a photo to pack is not a regular file",
    "bad_member_name": "a photo name is not a portable member name (section 3.2)",
    "no_space": "the output folder's file system cannot hold the package",
    # public key cards and secret key files (section 9)
    "too_large": "a public key card is larger than 8 KiB",
    "not_json": "a public key card is not JSON",
    "wrong_format": "not a Genchi public key card",
    "unsupported_version": "a public key card of a version this reader does not read",
    "bad_org_code": "a public key card's organisation code is invalid",
    "bad_org_name": "a public key card's organisation name is empty or too long",
    "bad_created_at": "a public key card's creation time is invalid",
    "bad_recipient": "a public key card's age recipient is missing or invalid",
    "bad_signing_key": "a public key card's Ed25519 key is missing or invalid",
    "fingerprint_mismatch": "a public key card's printed fingerprint does not match its key",
    "bad_secret_keys": "a secret key file is invalid",
}

# reason -> the code it refines. Values a message may name are listed beside it.
REASONS: dict[str, str] = {
    # age (age.py)
    "not_age": "unknown_format",
    "armored": "unknown_format",
    "work_factor": "unknown_format",  # work, max_work
    "header_field_too_long": "unknown_format",  # field
    "passphrase_needed": "wrong_key",
    "wrong_passphrase": "wrong_key",
    "key_needed": "wrong_key",
    "other_recipient": "wrong_key",
    "header_mac": "tampered",
    # archive (archive.py)
    "bad_archive": "unknown_format",
    "unsafe_name": "path_traversal",  # name (as found in the archive)
    "name_not_utf8": "path_traversal",
    "link": "link_member",  # name
    "special": "special_member",  # name
    "duplicate_name": "duplicate_member",  # name
    "data_after_end": "unexpected_member",
    # manifest (manifest.py)
    "manifest_field": "unknown_format",  # field
    "manifest_not_json": "unknown_format",
    "manifest_too_deep": "unknown_format",
    "manifest_number": "unknown_format",
    "manifest_not_object": "unknown_format",
    "manifest_not_canonical": "unknown_format",
    "manifest_unknown_fields": "unknown_format",  # names
    "manifest_member_order": "unknown_format",
    "manifest_photos_not_results": "unknown_format",
    "format_version": "unknown_format",  # version
    "signature_length": "bad_signature",
    # reading (reader.py)
    "cannot_open": "unknown_format",  # file
    "manifest_not_first": "unknown_format",
    "manifest_too_large": "unknown_format",
    "changed_after_verification": "tampered",
    "recipient_named": "wrong_recipient",  # recipient
    "contract_named": "wrong_contract",  # contract
    "sender_named": "wrong_sender",  # sender
    "package_named": "replayed",  # package_id
    "member_missing": "missing_member",  # name
    "member_out_of_order": "unexpected_member",  # name
    "member_unlisted": "unexpected_member",  # name
    "member_size": "hash_mismatch",  # name
    "member_hash": "hash_mismatch",  # name
    "member_count": "count_mismatch",  # name, count, expected
    # records (records.py, reader.py, writer.py): `line` (records.jsonl, reading) or
    # `record` (the n-th record, writing) says where
    "not_object": "bad_record",
    "key_not_string": "bad_record",
    "case_fields": "bad_record",  # extra, missing (comma-separated keys, or "")
    "field_invalid": "bad_record",  # field
    "empty_case_ref": "bad_record",
    "no_case_ref": "bad_record",
    "result_fields": "bad_record",  # extra, missing (comma-separated keys, or "")
    "result_field_invalid": "bad_record",  # field
    "line_not_json": "bad_record",
    "line_json_limit": "bad_record",
    "line_too_long": "bad_record",
    "last_line_no_lf": "bad_record",
    "csv_not_utf8": "bad_record",
    "csv_no_bom": "bad_record",
    "csv_unreadable": "bad_record",
    "csv_header": "bad_record",
    # writing (writer.py)
    "duplicate_photo": "duplicate_member",
    "changed_photo": "photo_changed",  # name
    "irregular_photo": "not_a_file",  # name
    "bad_photo_name": "bad_member_name",  # name
    "space_needed": "no_space",  # needed, free (bytes)
    # key cards and secret key files (keys.py)
    "card_version": "unsupported_version",  # version
    "recipient_missing": "bad_recipient",
    "signing_key_missing": "bad_signing_key",
    "encryption_fingerprint": "fingerprint_mismatch",
    "signing_fingerprint": "fingerprint_mismatch",
    "secret_not_json": "bad_secret_keys",
    "secret_format": "bad_secret_keys",
    "secret_version": "bad_secret_keys",
    "secret_org": "bad_secret_keys",
    "secret_created_at": "bad_secret_keys",
    "secret_encryption_key": "bad_secret_keys",
    "secret_signing_key": "bad_secret_keys",
}

# The reasons that describe a record that does not fit its schema (records.check_record).
RECORD_PROBLEMS = frozenset(
    (
        "not_object",
        "key_not_string",
        "case_fields",
        "field_invalid",
        "empty_case_ref",
        "no_case_ref",
        "result_fields",
        "result_field_invalid",
    )
)

_registered: dict[str, str] = dict(CODES)


def register_codes(codes: Mapping[str, str]) -> None:
    """Add an application's own refusal codes (code -> what it means). A code keeps its
    meaning: registering a known code with another description is an error."""
    for code, meaning in codes.items():
        if _registered.get(code, meaning) != meaning:
            raise ValueError(
                f"refusal code {code!r} is already registered as {_registered[code]!r}"
            )
        _registered[code] = meaning


def known_codes() -> dict[str, str]:
    """Every code a Refused may carry: the format's and the registered ones."""
    return dict(_registered)


class Refused(Exception):
    """A package, a key card or a step of handling them was refused; nothing from it may be
    stored. The one exception type of the format.

    `code`: stable machine code (CODES, or registered by the application).
    `message`: the sentence to show, already translated, when the caller raising it has
    one (applications); the format never passes one.
    `detail`: technical context for the log, without personal data.
    `reason`: which check refused, more precisely than the code (REASONS).
    `params`: values a message about this reason names (never personal data).
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        detail: str | None = None,
        *,
        reason: str | None = None,
        **params: Any,
    ) -> None:
        if code not in _registered:
            raise ValueError(f"unknown refusal code: {code!r}")
        if reason is not None and REASONS.get(reason) != code:
            raise ValueError(f"reason {reason!r} does not belong to code {code!r}")
        self.code = code
        self.message = None if message is None else str(message)
        self.detail = detail
        self.reason = reason
        self.params = params
        super().__init__(code, message, detail)

    def __str__(self) -> str:
        where = self.code + (f"/{self.reason}" if self.reason else "")
        if self.message:
            return f"{self.message} [{where}]"
        return where + (f": {self.detail}" if self.detail else "")

    def __repr__(self) -> str:
        return f"Refused({self!s})"

"""Organisation key material as plain data.

Each organisation has an encryption key pair (age X25519: identity "AGE-SECRET-KEY-1…",
recipient "age1…") and a signing key pair (Ed25519). The secret halves serialise with
to_bytes()/from_bytes() (the caller stores those bytes encrypted, never in clear). The
public halves travel as a small JSON "public key card", as a file or a QR code, with a
fingerprint of each key for both sides to read out and compare.

Fingerprint = SHA-256 of the raw 32-byte public key, upper-case hex in 16 blocks of 4.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import age, bounded_json
from .errors import Refused
from .manifest import canonical_json, is_code

CARD_FORMAT = "genchi-public-key-card"
SECRET_FORMAT = "genchi-organisation-secret-keys"  # noqa: S105 - a format name
KEYS_VERSION = 1
MAX_CARD_BYTES = 8 * 1024
MAX_SECRET_BYTES = 64 * 1024  # a secret key file is about 400 bytes
MAX_ORG_NAME = 100


def fingerprint(public_key: bytes) -> str:
    """Human-comparable fingerprint: SHA-256, upper-case hex, blocks of 4 ("1A2B 3C4D …")."""
    digest = hashlib.sha256(public_key).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, 64, 4))


def key_id(public_key: bytes) -> str:
    """Compact form of the fingerprint (lower-case hex), as written in manifests."""
    return hashlib.sha256(public_key).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, size: int) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    data = base64.b64decode(text.encode("ascii"), validate=True)
    if len(data) != size or _b64(data) != text:
        raise ValueError("bad length or encoding")
    return data


@dataclass(frozen=True)
class EncryptionKeyPair:
    """age X25519 key pair. `identity` is the secret ("AGE-SECRET-KEY-1…")."""

    identity: str

    @classmethod
    def generate(cls) -> EncryptionKeyPair:
        return cls(age.generate_identity())

    @property
    def recipient(self) -> str:
        return age.identity_to_recipient(self.identity)

    @property
    def fingerprint(self) -> str:
        return fingerprint(age.parse_recipient(self.recipient))

    def __repr__(self) -> str:  # never print the secret
        return f"EncryptionKeyPair(recipient={self.recipient!r})"


@dataclass(frozen=True)
class SigningKeyPair:
    """Ed25519 key pair. `seed` is the 32-byte secret."""

    seed: bytes

    @classmethod
    def generate(cls) -> SigningKeyPair:
        return cls(Ed25519PrivateKey.generate().private_bytes_raw())

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key_bytes)

    def __repr__(self) -> str:
        return f"SigningKeyPair(fingerprint={self.fingerprint!r})"


@dataclass(frozen=True)
class OrganisationKeys:
    """Both key pairs of one organisation (secret)."""

    org_code: str
    org_name: str
    created_at: str
    encryption: EncryptionKeyPair
    signing: SigningKeyPair

    def to_bytes(self) -> bytes:
        """Secret key file (JSON). Store it encrypted; it holds both secret keys."""
        return canonical_json(
            {
                "format": SECRET_FORMAT,
                "version": KEYS_VERSION,
                "org_code": self.org_code,
                "org_name": self.org_name,
                "created_at": self.created_at,
                "age_identity": self.encryption.identity,
                "ed25519_seed": _b64(self.signing.seed),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> OrganisationKeys:
        def bad(reason: str) -> Refused:
            return Refused("bad_secret_keys", detail=reason, reason=reason)

        try:
            obj = bounded_json.loads(data, max_bytes=MAX_SECRET_BYTES)
        except bounded_json.JsonLimit:
            raise bad("secret_not_json") from None
        if not isinstance(obj, dict) or obj.get("format") != SECRET_FORMAT:
            raise bad("secret_format")
        if obj.get("version") != KEYS_VERSION:
            raise bad("secret_version")
        if not is_code(obj.get("org_code")) or not isinstance(obj.get("org_name"), str):
            raise bad("secret_org")
        if not isinstance(obj.get("created_at"), str):
            raise bad("secret_created_at")
        try:
            age.parse_identity(obj.get("age_identity") or "")
            encryption = EncryptionKeyPair(obj["age_identity"])
        except (ValueError, TypeError):
            raise bad("secret_encryption_key") from None
        try:
            signing = SigningKeyPair(_unb64(obj.get("ed25519_seed"), 32))
        except (ValueError, binascii.Error):
            raise bad("secret_signing_key") from None
        return cls(obj["org_code"], obj["org_name"], obj["created_at"], encryption, signing)

    def public_card(self) -> PublicKeyCard:
        return PublicKeyCard(
            org_code=self.org_code,
            org_name=self.org_name,
            created_at=self.created_at,
            age_recipient=self.encryption.recipient,
            signing_public_key=self.signing.public_key_bytes,
        )

    def __repr__(self) -> str:
        return (
            f"OrganisationKeys(org_code={self.org_code!r}, {self.encryption!r}, {self.signing!r})"
        )


def generate_organisation_keys(
    org_code: str, org_name: str, *, created_at: datetime | None = None
) -> OrganisationKeys:
    """New encryption and signing key pairs for the organisation `org_code`."""
    if not is_code(org_code):
        raise ValueError("org_code: letters, digits, '.', '_' and '-', at most 64")
    if not org_name.strip() or len(org_name) > MAX_ORG_NAME:
        raise ValueError("org_name: 1 to 100 characters")
    when = (created_at or datetime.now(UTC)).isoformat(timespec="seconds")
    return OrganisationKeys(
        org_code, org_name, when, EncryptionKeyPair.generate(), SigningKeyPair.generate()
    )


@dataclass(frozen=True)
class PublicKeyCard:
    """The public halves of an organisation's keys, exchanged when a contract is set up."""

    org_code: str
    org_name: str
    created_at: str
    age_recipient: str
    signing_public_key: bytes

    @property
    def encryption_fingerprint(self) -> str:
        return fingerprint(age.parse_recipient(self.age_recipient))

    @property
    def signing_fingerprint(self) -> str:
        return fingerprint(self.signing_public_key)

    @property
    def signing_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.signing_public_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CARD_FORMAT,
            "version": KEYS_VERSION,
            "org_code": self.org_code,
            "org_name": self.org_name,
            "created_at": self.created_at,
            "encryption": {
                "type": "age-x25519",
                "recipient": self.age_recipient,
                "fingerprint": self.encryption_fingerprint,
            },
            "signing": {
                "type": "ed25519",
                "public_key": _b64(self.signing_public_key),
                "fingerprint": self.signing_fingerprint,
            },
        }

    def to_bytes(self) -> bytes:
        """The card file (canonical JSON, UTF-8)."""
        return canonical_json(self.to_json())

    def qr_svg(self, scale: int = 4, title: str | None = None) -> str:
        """The card as a QR code (SVG text); scanning it gives exactly to_bytes(). `title`
        (the caller's words) is the SVG's title; the organisation code by default."""
        qr = segno.make(self.to_bytes(), error="m", micro=False)
        out = io.BytesIO()
        qr.save(out, kind="svg", scale=scale, xmldecl=False, title=title or self.org_code)
        return out.getvalue().decode("utf-8")


def card_object(data: bytes | str, *, card_format: str, version: int) -> dict[str, Any]:
    """The JSON object of a card of `card_format` and `version`, read within the card
    limits (size, nesting, numbers). Raises Refused; the card's own fields are the
    caller's to check."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_CARD_BYTES:
        raise Refused("too_large", detail=f"{len(data)} bytes")
    try:
        obj = bounded_json.loads(data, max_bytes=MAX_CARD_BYTES, encoding="utf-8-sig")
    except bounded_json.JsonLimit as exc:
        # Deep nesting or an endless number is JSON, but no card of ours.
        raise Refused("not_json" if exc.kind == "not_json" else "wrong_format") from None
    if not isinstance(obj, dict) or obj.get("format") != card_format:
        raise Refused("wrong_format")
    if obj.get("version") != version:
        found = obj.get("version")
        raise Refused(
            "unsupported_version", detail=repr(found), reason="card_version", version=found
        )
    return obj


def parse_public_key_card(data: bytes | str) -> PublicKeyCard:
    """Read and check an imported public key card. Raises Refused (the card codes of
    errors.CODES)."""
    obj = card_object(data, card_format=CARD_FORMAT, version=KEYS_VERSION)
    if not is_code(obj.get("org_code")):
        raise Refused("bad_org_code")
    name = obj.get("org_name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_ORG_NAME:
        raise Refused("bad_org_name")
    created = obj.get("created_at")
    try:
        if not isinstance(created, str) or datetime.fromisoformat(created).tzinfo is None:
            raise ValueError
    except ValueError:
        raise Refused("bad_created_at") from None
    enc, sig = obj.get("encryption"), obj.get("signing")
    if not isinstance(enc, dict) or enc.get("type") != "age-x25519":
        raise Refused("bad_recipient", reason="recipient_missing")
    try:
        age.parse_recipient(enc.get("recipient") or "")
    except (ValueError, TypeError):
        raise Refused("bad_recipient") from None
    if not isinstance(sig, dict) or sig.get("type") != "ed25519":
        raise Refused("bad_signing_key", reason="signing_key_missing")
    try:
        public = _unb64(sig.get("public_key"), 32)
        Ed25519PublicKey.from_public_bytes(public)
    except (ValueError, binascii.Error):
        raise Refused("bad_signing_key") from None
    card = PublicKeyCard(obj["org_code"], name, created, enc["recipient"], public)
    # The printed fingerprints must match the keys: catches a corrupted or edited card.
    if enc.get("fingerprint") != card.encryption_fingerprint:
        raise Refused("fingerprint_mismatch", reason="encryption_fingerprint")
    if sig.get("fingerprint") != card.signing_fingerprint:
        raise Refused("fingerprint_mismatch", reason="signing_fingerprint")
    return card

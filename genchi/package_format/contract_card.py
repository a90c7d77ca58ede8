"""The contract recipient card: the public half of one contract's recipient key.

Packages of a contract are encrypted to a key pair of the receiving side made for that
contract alone (not to the organisation's key), so that destroying it when the contract
is erased makes every copy of its packages unreadable. Its public half travels to the
sending side as this card, next to the organisation's public key card (keys.py):

    {"format": "genchi-contract-recipient-card", "version": 1,
     "contract": "K1", "org_code": "CON01", "created_at": "2026-…+00:00",
     "encryption": {"type": "age-x25519", "recipient": "age1…", "fingerprint": "…"},
     "signature": {"type": "ed25519", "signing_fingerprint": "…", "value": "<Base64>"}}

The signature is Ed25519 by the organisation's signing key over SIGNED_PREFIX ‖ the
canonical JSON of the card without its "signature" member, so the receiving side checks
it against the organisation card it has already confirmed; the encryption fingerprint is
read out and compared as well, as for organisation cards.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import age
from .errors import Refused, register_codes
from .keys import EncryptionKeyPair, SigningKeyPair, card_object, fingerprint
from .manifest import canonical_json, is_code

CONTRACT_CARD_FORMAT = "genchi-contract-recipient-card"
CONTRACT_CARD_VERSION = 1
SIGNED_PREFIX = b"genchi-contract-recipient-card\x00"

register_codes(
    {
        "bad_contract_code": "a contract recipient card's contract code is invalid",
        "bad_card_signature": "a contract recipient card's signature does not verify with "
        "its organisation's registered signing key",
    }
)


@dataclass(frozen=True)
class ContractRecipientCard:
    """The public recipient key of `org_code`'s side of `contract`, signed by it."""

    contract: str
    org_code: str
    created_at: str
    age_recipient: str
    signing_fingerprint: str
    signature: bytes

    @property
    def encryption_fingerprint(self) -> str:
        return fingerprint(age.parse_recipient(self.age_recipient))

    def _signed_part(self) -> dict[str, Any]:
        return _signed_part(self.contract, self.org_code, self.created_at, self.age_recipient)

    def to_json(self) -> dict[str, Any]:
        return {
            **self._signed_part(),
            "signature": {
                "type": "ed25519",
                "signing_fingerprint": self.signing_fingerprint,
                "value": base64.b64encode(self.signature).decode("ascii"),
            },
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    def verify(self, signing_key: Ed25519PublicKey) -> None:
        """Raises Refused("bad_card_signature") unless `signing_key` signed this card."""
        if fingerprint(signing_key.public_bytes_raw()) != self.signing_fingerprint:
            raise Refused("bad_card_signature", detail="another signing key")
        try:
            signing_key.verify(self.signature, SIGNED_PREFIX + canonical_json(self._signed_part()))
        except InvalidSignature:
            raise Refused("bad_card_signature", detail="signature") from None

    def qr_svg(self, scale: int = 4, title: str | None = None) -> str:
        """The card as a QR code (SVG text); scanning it gives exactly to_bytes()."""
        qr = segno.make(self.to_bytes(), error="m", micro=False)
        out = io.BytesIO()
        qr.save(out, kind="svg", scale=scale, xmldecl=False, title=title or self.contract)
        return out.getvalue().decode("utf-8")


def _signed_part(contract: str, org_code: str, created_at: str, recipient: str) -> dict[str, Any]:
    return {
        "format": CONTRACT_CARD_FORMAT,
        "version": CONTRACT_CARD_VERSION,
        "contract": contract,
        "org_code": org_code,
        "created_at": created_at,
        "encryption": {
            "type": "age-x25519",
            "recipient": recipient,
            "fingerprint": fingerprint(age.parse_recipient(recipient)),
        },
    }


def sign_contract_card(
    *,
    contract: str,
    org_code: str,
    key: EncryptionKeyPair,
    signing: SigningKeyPair,
    created_at: datetime | None = None,
) -> ContractRecipientCard:
    """The card of `key` for `org_code`'s side of `contract`, signed with `signing`."""
    if not is_code(contract) or not is_code(org_code):
        raise ValueError("contract and org_code: letters, digits, '.', '_' and '-', at most 64")
    when = (created_at or datetime.now(UTC)).isoformat(timespec="seconds")
    signed = _signed_part(contract, org_code, when, key.recipient)
    signature = signing.private_key.sign(SIGNED_PREFIX + canonical_json(signed))
    return ContractRecipientCard(
        contract, org_code, when, key.recipient, signing.fingerprint, signature
    )


def parse_contract_card(data: bytes | str) -> ContractRecipientCard:
    """Read and check a contract recipient card's form (not yet its signature: `verify`
    with the signing key of its organisation as registered). Raises Refused."""
    obj = card_object(data, card_format=CONTRACT_CARD_FORMAT, version=CONTRACT_CARD_VERSION)
    if not is_code(obj.get("contract")):
        raise Refused("bad_contract_code")
    if not is_code(obj.get("org_code")):
        raise Refused("bad_org_code")
    created = obj.get("created_at")
    try:
        if not isinstance(created, str) or datetime.fromisoformat(created).tzinfo is None:
            raise ValueError
    except ValueError:
        raise Refused("bad_created_at") from None
    enc = obj.get("encryption")
    if not isinstance(enc, dict) or enc.get("type") != "age-x25519":
        raise Refused("bad_recipient", reason="recipient_missing")
    try:
        age.parse_recipient(enc.get("recipient") or "")
    except (ValueError, TypeError):
        raise Refused("bad_recipient") from None
    sig = obj.get("signature")
    if not isinstance(sig, dict) or sig.get("type") != "ed25519":
        raise Refused("bad_card_signature", detail="signature missing")
    try:
        signature = base64.b64decode(str(sig.get("value", "")).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Refused("bad_card_signature", detail="signature encoding") from None
    signer = sig.get("signing_fingerprint")
    if len(signature) != 64 or not isinstance(signer, str):
        raise Refused("bad_card_signature", detail="signature length")
    card = ContractRecipientCard(
        obj["contract"], obj["org_code"], created, enc["recipient"], signer, signature
    )
    if enc.get("fingerprint") != card.encryption_fingerprint:
        raise Refused("fingerprint_mismatch", reason="encryption_fingerprint")
    if set(obj) != {*card._signed_part(), "signature"}:
        raise Refused("wrong_format", detail="unknown members")
    return card

"""Checking what a tablet signed with its own key (WebCrypto ECDSA P-256, SHA-256).

WebCrypto gives the public key as SubjectPublicKeyInfo (DER) and a signature as the raw
r||s pair (64 bytes, IEEE P1363); `cryptography` wants DER signatures, so the pair is
re-encoded before the check. A request's signed text binds its method, path, time, a
nonce and the SHA-256 of its body: a request cannot be replayed, moved or altered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

MAX_KEY_CHARS = 400  # a P-256 SPKI is 91 bytes, 124 characters in base64


class BadKey(ValueError):
    pass


def public_key_from(text: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key in `text` (base64 SPKI), or BadKey."""
    if not text or len(text) > MAX_KEY_CHARS:
        raise BadKey("key size")
    try:
        key = load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise BadKey("not a key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise BadKey("not P-256")
    return key


def fingerprint(text: str) -> str:
    """SHA-256 of the key's DER bytes, hex: the key's name in the office and the logs."""
    return hashlib.sha256(base64.b64decode(text)).hexdigest()


def signed_text(method: str, path: str, time: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, time, nonce, hashlib.sha256(body).hexdigest()]).encode()


def verify(public_key: str, message: bytes, signature_b64: str) -> bool:
    """Whether `signature_b64` (raw r||s, base64) is the key's signature over `message`."""
    try:
        raw = base64.b64decode(signature_b64, validate=True)
    except (ValueError, binascii.Error, TypeError):
        return False
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public_key_from(public_key).verify(der, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, BadKey):
        return False
    return True

"""Model fields that keep personal data encrypted at rest under the contract's key (D1).

Stored form (text): ``g1:`` + base64url(key id 16 B ‖ nonce 12 B ‖ AES-256-GCM ciphertext).
The associated data binds a value to its model and field, so a ciphertext copied into
another column does not decrypt. Values decrypt transparently when loaded; reading
them is the access layer's job (genchi.access), which logs every read.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models

from .keys import KeyUnavailable, current_key, key_by_id

PREFIX = "g1:"


class DecryptionFailed(Exception):
    pass


def _aad(label: str) -> bytes:
    return f"genchi-field:{label}".encode()


def encrypt_value(contract_id: int, label: str, plaintext: str) -> str:
    key_id, key = current_key(contract_id)
    nonce = secrets.token_bytes(12)
    ct = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), _aad(label))
    return PREFIX + base64.urlsafe_b64encode(key_id.bytes + nonce + ct).decode("ascii")


def decrypt_value(label: str, stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise DecryptionFailed("暗号化されていない値が保存されています")
    raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
    key_id, nonce, ct = uuid.UUID(bytes=raw[:16]), raw[16:28], raw[28:]
    try:
        return AESGCM(key_by_id(key_id)).decrypt(nonce, ct, _aad(label)).decode("utf-8")
    except InvalidTag as exc:
        raise DecryptionFailed("暗号文が改ざんされているか、鍵が違います") from exc


class EncryptedTextField(models.TextField):
    """Text encrypted under the key of the contract named by `contract_field`."""

    def __init__(self, *args, contract_field: str = "contract", **kwargs):
        self.contract_field = contract_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["contract_field"] = self.contract_field
        return name, path, args, kwargs

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return value
        contract_id = getattr(model_instance, f"{self.contract_field}_id")
        return encrypt_value(contract_id, self.label, str(value))

    def get_db_prep_value(self, value, connection, prepared=False):
        # pre_save has already encrypted; anything else here is a plaintext lookup or a
        # queryset.update() that would store plaintext, so refuse it loudly.
        if value is None or value == "" or (isinstance(value, str) and value.startswith(PREFIX)):
            return value
        raise ValueError(f"{self.label}: 暗号化項目は save() でのみ保存でき、検索には使えません")

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt_value(self.label, value)
        except KeyUnavailable:
            return ERASED


class _Erased(str):
    """What a value reads as once its contract key is destroyed."""


ERASED = _Erased("［消去済み］")

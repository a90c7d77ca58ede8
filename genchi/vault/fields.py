"""Model fields that keep personal data encrypted at rest under a contract key (D1).

`EncryptedTextField(holder="ward")` declares which side of the contract holds the
model's data: values are encrypted under that side's key of the row's contract
(`contract_field`), so one side's erasure leaves the other side's records whole.

Stored form (text): ``g2:`` + base64url(a bytes blob of `genchi.vault.encryption`), with
the context ``field:<app>.<model>.<field>``: a ciphertext copied into another column,
into a model held by the other side or under another contract's key does not decrypt.
Values written before key scopes (``g1:`` + base64url(key id ‖ nonce ‖ ciphertext)) are
still read. Values decrypt transparently when loaded; reading them is the access
layer's job (genchi.access), which logs every read.
"""

from __future__ import annotations

import base64
import binascii

from django.core import checks
from django.db import models

from .encryption import LEGACY, decrypt, encrypt, key_scope_of
from .errors import DecryptionFailed, KeyUnavailable
from .keys import contract_scope
from .scopes import HOLDERS

PREFIX = "g2:"
LEGACY_PREFIX = "g1:"


def encrypt_text(scope, context: str, plaintext: str) -> str:
    blob = encrypt(scope, context, plaintext.encode("utf-8"))
    return PREFIX + base64.urlsafe_b64encode(blob).decode("ascii")


def decrypt_text(holder: str, context: str, stored: str) -> str:
    """The plaintext of a stored value held by `holder` ("ward" or "contractor")."""
    try:
        if stored.startswith(PREFIX):
            blob = base64.urlsafe_b64decode(stored[len(PREFIX) :])
        elif stored.startswith(LEGACY_PREFIX):
            blob = bytes((LEGACY,)) + base64.urlsafe_b64decode(stored[len(LEGACY_PREFIX) :])
        else:
            raise DecryptionFailed("暗号化されていない値が保存されています")
    except (binascii.Error, ValueError) as exc:
        raise DecryptionFailed("暗号化された値が壊れています") from exc
    owner = key_scope_of(blob)
    if owner.contract_id is None:
        raise DecryptionFailed("契約の鍵ではない鍵で暗号化された値です")
    scope = contract_scope(owner.contract_id, holder)
    return decrypt(scope, context, blob).decode("utf-8")


class EncryptedTextField(models.TextField):
    """Text encrypted under the `holder` side's key of the contract named by
    `contract_field`."""

    # Neither changes the column: a migration that sets them alters no table.
    non_db_attrs = (*models.TextField.non_db_attrs, "contract_field", "holder")

    def __init__(self, *args, contract_field: str = "contract", holder: str = "", **kwargs):
        self.contract_field = contract_field
        self.holder = holder
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["contract_field"] = self.contract_field
        kwargs["holder"] = self.holder
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.holder not in HOLDERS:
            errors.append(
                checks.Error(
                    f"EncryptedTextField needs holder= one of {', '.join(HOLDERS)}",
                    obj=self,
                    id="genchi_vault.E001",
                )
            )
        return errors

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    @property
    def context(self) -> str:
        return f"field:{self.label}"

    def encrypt_for(self, contract_id: int, plaintext: str) -> str:
        """The stored form of `plaintext` in a row of contract `contract_id`: what
        `pre_save` stores, for bulk inserts that bypass the ORM."""
        return encrypt_text(contract_scope(contract_id, self.holder), self.context, plaintext)

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return value
        contract_id = getattr(model_instance, f"{self.contract_field}_id")
        return self.encrypt_for(contract_id, str(value))

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
            return decrypt_text(self.holder, self.context, value)
        except KeyUnavailable:
            return ERASED


class _Erased(str):
    """What a value reads as once its data key is destroyed."""


ERASED = _Erased("［消去済み］")

"""Model fields that keep personal data encrypted at rest under a contract key (D1).

`EncryptedTextField(holder="ward")` declares which side of the contract holds the
model's data: values are encrypted under that side's key of the row's contract
(`contract_field`), so one side's erasure leaves the other side's records whole.

Stored form (text): ``g3:`` + base64url(a bytes blob of `genchi.vault.encryption`), with
the context ``field:<app>.<model>.<field>#<row>`` under the scope of the row's own
contract, where <row> is the row's identity named by `row_field` (a case's reference):
a ciphertext copied into another row, another column, a model held by the other side or
a row of another contract does not decrypt. The row is named by a field set before the
row is inserted, not by its primary key: bulk inserts encrypt before the database has
given any id (`genchi.intake.services.imports`); the field must be unique within the
contract and never change.

Values are decrypted when first read from the model instance (the descriptor), since
only the instance knows its row; a value that does not decrypt for its row is refused
with `DecryptionFailed`, naming the model, the row and the field, and logged. Values
written before rows were bound (``g2:``, context without the row; ``g1:`` from before key
scopes) are still read, under the key's own contract; migrations rewrite them as ``g3:``.
Reading values is the access layer's job (genchi.access), which logs every read.
"""

from __future__ import annotations

import base64
import binascii
import logging

from django.core import checks
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .encryption import LEGACY, decrypt, encrypt, key_scope_of
from .errors import DecryptionFailed, KeyUnavailable
from .keys import contract_scope
from .scopes import HOLDERS

PREFIX = "g3:"
UNBOUND_PREFIX = "g2:"
LEGACY_PREFIX = "g1:"

logger = logging.getLogger("genchi.vault")


def encrypt_text(scope, context: str, plaintext: str) -> str:
    blob = encrypt(scope, context, plaintext.encode("utf-8"))
    return PREFIX + base64.urlsafe_b64encode(blob).decode("ascii")


def _blob(stored: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(stored[len(PREFIX) :])
    except (binascii.Error, ValueError) as exc:
        raise DecryptionFailed("暗号化された値が壊れています") from exc


def decrypt_row_text(scope, context: str, stored: str) -> str:
    """The plaintext of a `g3:` value of a row, under the scope of the row's contract."""
    if not stored.startswith(PREFIX):
        raise DecryptionFailed("行に結び付けて暗号化された値ではありません")
    return decrypt(scope, context, _blob(stored)).decode("utf-8")


def decrypt_text(holder: str, context: str, stored: str) -> str:
    """The plaintext of a value stored before rows were bound (g2:, g1:), held by
    `holder` ("ward" or "contractor"), under its key's contract."""
    try:
        if stored.startswith(UNBOUND_PREFIX):
            blob = base64.urlsafe_b64decode(stored[len(UNBOUND_PREFIX) :])
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


class _Sealed(str):
    """A stored value as loaded, not yet decrypted: only its row can open it."""


class _SealedDescriptor(DeferredAttribute):
    """Decrypts a loaded value on first read, bound to the instance's row."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, _Sealed):
            value = instance.__dict__[self.field.attname] = self.field.open(instance, value)
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Text encrypted under the `holder` side's key of the contract named by
    `contract_field`, bound to the row named by `row_field`."""

    descriptor_class = _SealedDescriptor
    # None changes the column: a migration that sets them alters no table.
    non_db_attrs = (*models.TextField.non_db_attrs, "contract_field", "holder", "row_field")

    def __init__(
        self,
        *args,
        contract_field: str = "contract",
        holder: str = "",
        row_field: str = "",
        **kwargs,
    ):
        self.contract_field = contract_field
        self.holder = holder
        self.row_field = row_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["contract_field"] = self.contract_field
        kwargs["holder"] = self.holder
        kwargs["row_field"] = self.row_field
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
        if not self.row_field:
            errors.append(
                checks.Error(
                    "EncryptedTextField needs row_field= a field naming the row, set before "
                    "insert and unique within the contract",
                    obj=self,
                    id="genchi_vault.E002",
                )
            )
        return errors

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    @property
    def context(self) -> str:
        """The context of values written before rows were bound."""
        return f"field:{self.label}"

    def row_context(self, row: str) -> str:
        if not row:
            raise ValueError(f"{self.label}: 行を示す {self.row_field} が空です")
        return f"field:{self.label}#{row}"

    def encrypt_for(self, contract_id: int, row: str, plaintext: str) -> str:
        """The stored form of `plaintext` in the row `row` (its `row_field`) of contract
        `contract_id`: what `pre_save` stores, for bulk inserts that bypass the ORM."""
        scope = contract_scope(contract_id, self.holder)
        return encrypt_text(scope, self.row_context(row), plaintext)

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return value
        contract_id = getattr(model_instance, f"{self.contract_field}_id")
        row = getattr(model_instance, self.row_field)
        return self.encrypt_for(contract_id, row, str(value))

    def open(self, instance, stored: str) -> str:
        """The plaintext of `stored`, read from `instance`'s row."""
        contract_id = getattr(instance, f"{self.contract_field}_id")
        return self.open_for(contract_id, getattr(instance, self.row_field), stored)

    def open_for(self, contract_id: int, row: str, stored: str) -> str:
        """The plaintext of `stored` (as read by `values_list`) of the row `row` of
        contract `contract_id`: what reading it from a model instance gives, for scans
        that need one field of many rows without building instances."""
        if stored is None or stored == "":
            return stored
        try:
            if stored.startswith(PREFIX):
                scope = contract_scope(contract_id, self.holder)
                return decrypt_row_text(scope, self.row_context(row), stored)
            return decrypt_text(self.holder, self.context, stored)
        except KeyUnavailable:
            return ERASED
        except DecryptionFailed as exc:
            # Moved from another row, altered, or another contract's: never shown.
            logger.error(
                "refused to decrypt %s of row %s (contract %s): %s",
                self.label, row, contract_id, exc,
            )  # fmt: skip
            raise DecryptionFailed(
                f"{self.model._meta.verbose_name} {row} の「{self.verbose_name}」は、この行の"
                f"ものとして暗号化された値ではないため表示しません({exc})"
            ) from exc

    def get_db_prep_value(self, value, connection, prepared=False):
        # pre_save has already encrypted; anything else here is a plaintext lookup or a
        # queryset.update() that would store plaintext, so refuse it loudly.
        if value is None or value == "" or isinstance(value, _Sealed):
            return value
        if isinstance(value, str) and value.startswith((PREFIX, UNBOUND_PREFIX)):
            return value
        raise ValueError(f"{self.label}: 暗号化項目は save() でのみ保存でき、検索には使えません")

    def from_db_value(self, value, expression, connection):
        # Decrypted on first read from the instance (`open`), which knows the row.
        if value is None or value == "":
            return value
        return _Sealed(value)


class _Erased(str):
    """What a value reads as once its data key is destroyed."""


ERASED = _Erased("［消去済み］")


def bind_values_to_rows(model, using: str = "default") -> int:
    """Rewrite a model's values stored before rows were bound (g2:, g1:) as g3: values
    bound to their row (for the data migrations of the models that hold them). Values
    whose key was destroyed stay as they are: nothing can read them. Returns how many."""
    fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
    if not fields:
        return 0
    row_field = fields[0].row_field
    contract_attname = f"{fields[0].contract_field}_id"
    names = [f.attname for f in fields]
    rewritten = 0
    rows = model._base_manager.using(using).values_list("pk", contract_attname, row_field, *names)
    for pk, contract_id, row, *stored in rows.iterator():
        changes = {}
        for field, value in zip(fields, stored, strict=True):
            if not value or value.startswith(PREFIX):
                continue
            try:
                plaintext = decrypt_text(field.holder, field.context, str(value))
            except KeyUnavailable:
                continue
            changes[field.attname] = field.encrypt_for(contract_id, row, plaintext)
        if changes:
            model._base_manager.using(using).filter(pk=pk).update(**changes)
            rewritten += len(changes)
    return rewritten

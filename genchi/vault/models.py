import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .scopes import Scope


class DataKey(models.Model):
    """A data key of one scope (D1), stored only wrapped by the master key.

    The scope is `organisation`'s side of `contract`, or `organisation` alone when
    `contract` is empty. Destroying a key (crypto-erasure) blanks `wrapped_key` and sets
    `destroyed_at`: every ciphertext under it, backups included, becomes unreadable.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="data_keys",
        verbose_name=_("組織"),
    )
    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="data_keys",
        verbose_name=_("契約"),
    )
    wrapped_key = models.BinaryField(_("鍵(マスター鍵で暗号化)"))
    master_key_id = models.CharField(_("マスター鍵ID"), max_length=32)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    destroyed_at = models.DateTimeField(_("破棄日時"), null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("データ鍵")

    def __str__(self) -> str:
        return f"{self.scope.label}:{self.id}"

    @property
    def scope(self) -> Scope:
        return Scope(self.organisation_id, self.contract_id)


class KeyringState(models.Model):
    """One row: the keyring's generation, raised in the same transaction as every
    destruction of a data key and every master-key rotation. Each process caches the
    keys it unwrapped; it compares the generation it saw with this one before using its
    cache (keys.py), so a key destroyed by a server on another host is not used here."""

    generation = models.BigIntegerField(_("世代"), default=0)

    class Meta:
        verbose_name = _("鍵の世代")

    def __str__(self) -> str:
        return f"generation {self.generation}"

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContractKey(models.Model):
    """A contract's data key, stored only wrapped by the master key (D1).

    Destroying it (crypto-erasure) blanks `wrapped_key` and sets `destroyed_at`:
    every ciphertext under it, backups included, becomes unreadable.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="data_keys"
    )
    wrapped_key = models.BinaryField(_("鍵(マスター鍵で暗号化)"))
    master_key_id = models.CharField(_("マスター鍵ID"), max_length=32)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    destroyed_at = models.DateTimeField(_("破棄日時"), null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("契約データ鍵")

    def __str__(self) -> str:
        return f"{self.contract_id}:{self.id}"

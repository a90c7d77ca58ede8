from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One link of the append-only, hash-chained log (D3).

    Rows are never updated or deleted: database triggers refuse both (migration 0002).
    `entry_hash` = SHA-256 over `prev_hash` and the canonical content; see chain.py.
    """

    seq = models.BigIntegerField(_("連番"), unique=True)
    at = models.DateTimeField(_("日時"), db_index=True)
    actor_id = models.BigIntegerField(_("操作者ID"), null=True, blank=True, db_index=True)
    actor = models.CharField(_("操作者"), max_length=150, blank=True)
    actor_organisation = models.CharField(_("操作者の組織"), max_length=64, blank=True)
    ip = models.CharField(_("接続元"), max_length=64, blank=True)
    channel = models.CharField(_("経路"), max_length=16, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("対象の種類"), max_length=64, blank=True)
    object_id = models.CharField(_("対象ID"), max_length=64, blank=True)
    contract_code = models.CharField(_("契約"), max_length=64, blank=True, db_index=True)
    detail = models.JSONField(_("詳細"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("監査ログ")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    @property
    def action_label(self) -> str:
        from .labels import action_label

        return action_label(self.action)

    @property
    def detail_text(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.detail.items())

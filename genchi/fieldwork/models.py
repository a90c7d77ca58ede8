"""The contractor's working copy of the cases it received (J3 items only, encrypted, D1)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.vault.fields import EncryptedTextField
from genchi.vault.scopes import CONTRACTOR


class SurveyCase(models.Model):
    """One received case on the contractor side. Grown by the fieldwork issue."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("受領済み")
        ASSIGNED = "assigned", _("割当済み")
        SURVEYED = "surveyed", _("調査済み")
        REPORTED = "reported", _("報告済み")

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="survey_cases",
        verbose_name=_("契約"),
    )
    case_ref = models.CharField(_("案件番号"), max_length=32)
    # The four items of J3, exactly as the package carried them.
    postal_code = EncryptedTextField(
        _("郵便番号"), blank=True, holder=CONTRACTOR, row_field="case_ref"
    )
    address = EncryptedTextField(_("住所"), holder=CONTRACTOR, row_field="case_ref")
    building_line = EncryptedTextField(
        _("方書"), blank=True, holder=CONTRACTOR, row_field="case_ref"
    )
    name = EncryptedTextField(_("氏名"), holder=CONTRACTOR, row_field="case_ref")
    received_in = models.ForeignKey(
        "transfer.Package",
        on_delete=models.PROTECT,
        related_name="survey_cases",
        verbose_name=_("受領パッケージ"),
    )
    status = models.CharField(
        _("状態"), max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["contract", "id"]
        verbose_name = _("調査案件(受託者)")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "case_ref"], name="survey_case_ref_per_contract"
            )
        ]

    def __str__(self) -> str:
        return self.case_ref

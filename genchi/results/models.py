"""What the ward keeps of the survey's results: per case the J4/J5 items, encrypted where
they name a person or a place (D1), and the photos, encrypted in the file store."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.outcomes import MAX_LENGTH as OUTCOME_LENGTH
from genchi.core.outcomes import Outcome
from genchi.vault.fields import EncryptedTextField
from genchi.vault.scopes import WARD


class Nameplate(models.TextChoices):
    TAXPAYER = "taxpayer", _("本人の氏名")
    OTHER = "other", _("別の氏名")
    NONE = "none", _("表札なし")
    UNSEEN = "", _("未確認")


class Tenure(models.TextChoices):
    OWNED = "owned", _("持家")
    RENTED = "rented", _("借家")
    UNKNOWN = "unknown", _("不明")
    UNSEEN = "", _("未確認")


class ContactSlip(models.TextChoices):
    IN_PERSON = "in_person", _("手渡し")
    POSTED = "posted", _("投函")
    NOT_LEFT = "not_left", _("置かず")
    UNSEEN = "", _("記録なし")


class ReturnedResults(models.Model):
    """One imported result package and the cases package it answers (one answer each)."""

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    package = models.OneToOneField(
        "transfer.Package",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("結果パッケージ"),
    )
    answers = models.UUIDField(_("応答元パッケージ"))
    batch_code = models.CharField(_("バッチ"), max_length=64)
    case_count = models.PositiveIntegerField(_("件数"))
    photo_count = models.PositiveIntegerField(_("写真数"), default=0)
    received_at = models.DateTimeField(_("受領日時"), default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("受領した調査結果")
        constraints = [
            models.UniqueConstraint(fields=["contract", "answers"], name="one_answer_per_package")
        ]

    def __str__(self) -> str:
        return f"{self.batch_code} ({self.case_count})"


class CaseResult(models.Model):
    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    case = models.OneToOneField(
        "intake.Case", on_delete=models.PROTECT, related_name="result", verbose_name=_("案件")
    )
    case_ref = models.CharField(_("案件参照番号"), max_length=64)
    returned = models.ForeignKey(
        ReturnedResults, on_delete=models.PROTECT, related_name="cases", verbose_name=_("受領")
    )
    pref = models.CharField(_("都道府県"), max_length=8, blank=True)
    outcome = models.CharField(_("調査結果"), max_length=OUTCOME_LENGTH, choices=Outcome.choices)
    decided_on = models.DateField(_("判定日"), null=True, blank=True)
    visit_count = models.PositiveSmallIntegerField(_("訪問回数"), default=0)
    nameplate = models.CharField(_("表札"), max_length=8, choices=Nameplate.choices, blank=True)
    tenure = models.CharField(_("持家・借家"), max_length=8, choices=Tenure.choices, blank=True)
    contact_slip = models.CharField(
        _("連絡票"), max_length=12, choices=ContactSlip.choices, blank=True
    )
    # Visit dates and times as JSON ([{"on", "at"}]); with the landlord, personal data.
    visits = EncryptedTextField(_("訪問日時"), blank=True, holder=WARD, row_field="case_ref")
    landlord = EncryptedTextField(
        _("大家・管理会社"), blank=True, holder=WARD, row_field="case_ref"
    )
    landlord_phone = EncryptedTextField(
        _("大家・管理会社の電話"), blank=True, holder=WARD, row_field="case_ref"
    )

    class Meta:
        ordering = ["contract", "case_ref"]
        verbose_name = _("調査結果")
        indexes = [models.Index(fields=["contract", "outcome"], name="case_result_outcome")]

    def __str__(self) -> str:
        return f"{self.case_ref}: {self.get_outcome_display()}"


class ResultPhoto(models.Model):
    """A photo of a case's dwelling, encrypted under the ward's key of the contract."""

    result = models.ForeignKey(
        CaseResult, on_delete=models.PROTECT, related_name="photos", verbose_name=_("調査結果")
    )
    name = models.CharField(_("パッケージ内の名前"), max_length=200)
    stored_as = models.CharField(_("保存名"), max_length=300)
    size = models.PositiveIntegerField(_("大きさ(バイト)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        ordering = ["result", "name"]
        verbose_name = _("調査写真")

    def __str__(self) -> str:
        return self.name

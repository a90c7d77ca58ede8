"""Follow-up after the contact slip (J2): who contacted the ward after the survey, how
(phone, a visit to the office, a payment) and for how much, by case reference number.
No personal data: the case is named by its reference, the amount is a number."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy


class FollowUpContact(RecordedBy):
    class Kind(models.TextChoices):
        PHONE = "phone", _("電話")
        VISIT = "visit", _("来庁")
        PAYMENT = "payment", _("納付")

    class Source(models.TextChoices):
        IMPORT = "import", _("取込")
        MANUAL = "manual", _("手入力")

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    case_ref = models.CharField(_("案件参照番号"), max_length=64)
    kind = models.CharField(_("接触方法"), max_length=8, choices=Kind.choices)
    contacted_on = models.DateField(_("接触日"))
    amount = models.PositiveBigIntegerField(_("金額(円)"), default=0)
    source = models.CharField(_("入力方法"), max_length=8, choices=Source.choices)
    created_at = models.DateTimeField(_("記録日時"), default=timezone.now)

    class Meta:
        ordering = ["contract", "case_ref", "contacted_on", "pk"]
        verbose_name = _("連絡票後の接触")
        constraints = [
            # The same line imported twice is one contact, not two.
            models.UniqueConstraint(
                fields=["contract", "case_ref", "kind", "contacted_on", "amount"],
                name="follow_up_once",
            )
        ]
        indexes = [models.Index(fields=["contract", "case_ref"], name="follow_up_case")]

    def __str__(self) -> str:
        return f"{self.case_ref} {self.get_kind_display()} {self.contacted_on}"

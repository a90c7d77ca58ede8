"""Where each surveyor's day starts and ends (the base), per contract.

A base is the office or the surveyor's home station: the planner measures travel from it
(`genchi.planning` takes it as the surveyor's `lat`/`lng`). It is a place of the
contractor's staff, not of a taxpayer, so it is kept in clear.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy


class SurveyorBase(RecordedBy):
    """The base of one surveyor on one contract; `person` empty: the office (the default
    base of every surveyor who has none of their own)."""

    class Kind(models.TextChoices):
        OFFICE = "office", _("事務所")
        HOME_STATION = "home_station", _("最寄り駅(自宅)")
        OTHER = "other", _("その他")

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="surveyor_bases",
        verbose_name=_("契約"),
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="surveyor_bases",
        verbose_name=_("調査員"),
    )
    kind = models.CharField(_("種別"), max_length=16, choices=Kind.choices, default=Kind.OFFICE)
    label = models.CharField(_("名称"), max_length=100)
    lat = models.DecimalField(_("緯度"), max_digits=9, decimal_places=6)
    lng = models.DecimalField(_("経度"), max_digits=9, decimal_places=6)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    class Meta:
        ordering = ["contract", "person"]
        verbose_name = _("調査員の拠点")
        constraints = [
            models.UniqueConstraint(fields=["contract", "person"], name="surveyor_base_per_person"),
            models.UniqueConstraint(
                fields=["contract"],
                condition=models.Q(person__isnull=True),
                name="surveyor_base_one_office",
            ),
            models.CheckConstraint(
                condition=models.Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="surveyor_base_coordinates",
            ),
        ]

    def __str__(self) -> str:
        return self.label

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from genchi.core.roles import CONTRACTOR_ROLES, WARD_ROLES, Role

__all__ = ["CONTRACTOR_ROLES", "WARD_ROLES", "Role", "User"]


class User(AbstractUser):
    """A person who signs in. One organisation, one role within it."""

    full_name = models.CharField(_("氏名"), max_length=100, blank=True)
    organisation = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
        verbose_name=_("所属"),
    )
    role = models.CharField(_("役割"), max_length=16, choices=Role.choices, blank=True)
    failed_sign_ins = models.PositiveIntegerField(_("連続失敗回数"), default=0)
    locked_until = models.DateTimeField(_("ロック解除時刻"), null=True, blank=True)

    class Meta:
        ordering = ["organisation", "username"]
        verbose_name = _("利用者")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def is_contractor_side(self) -> bool:
        return self.role in CONTRACTOR_ROLES

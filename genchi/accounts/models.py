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
    # Failed sign-ins, plus password checks under way (see lockout.py).
    failed_sign_ins = models.PositiveIntegerField(_("連続失敗回数"), default=0)
    locked_until = models.DateTimeField(_("ロック解除時刻"), null=True, blank=True)
    # Set when an administrator gave the password (on creation) or reset the second factor:
    # nothing but choosing a password of one's own is possible until it is cleared.
    must_change_password = models.BooleanField(_("パスワード変更が必要"), default=False)
    # The last reset of this person's second factor: who, when, and whether the person has
    # been told (once, at the next sign-in).
    second_factor_reset_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        # An administrator's resets, asked from the other side (not a record's author:
        # core.RecordedBy is for those).
        related_name="second_factor_resets_done",
        verbose_name=_("二要素認証をリセットした管理者"),
    )
    second_factor_reset_by_name = models.CharField(
        _("二要素認証をリセットした管理者の氏名"), max_length=100, blank=True
    )
    second_factor_reset_at = models.DateTimeField(
        _("二要素認証のリセット日時"), null=True, blank=True
    )
    second_factor_reset_unseen = models.BooleanField(_("リセットの通知が未表示"), default=False)

    class Meta:
        ordering = ["organisation", "username"]
        verbose_name = _("利用者")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def is_contractor_side(self) -> bool:
        return self.role in CONTRACTOR_ROLES


class UnknownNameCounter(models.Model):
    """Failed sign-ins under a user name that has no account, counted like a person's so
    that an unknown name locks after the same number of failures (no enumeration). The
    name itself is not kept, only its keyed hash: people type passwords into the name
    field by mistake."""

    name_hash = models.CharField(max_length=64, unique=True)
    failed_sign_ins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("存在しないユーザー名の失敗回数")

    def __str__(self) -> str:
        return self.name_hash[:12]

import logging
import secrets
import time
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from genchi.core.roles import CONTRACTOR_ROLES, WARD_ROLES, Role
from genchi.vault.errors import DecryptionFailed

from .seeds import open_seed, seal_seed

logger = logging.getLogger("genchi.accounts")

SEED_BYTES = 20  # 160 bits, as RFC 4226 recommends

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


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator (RFC 6238), as django-otp's, with its seed encrypted by the
    vault (`accounts.seeds`): the database holds no seed in plain."""

    sealed_key = models.BinaryField(_("鍵(暗号化)"), editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: a code is accepted once (no replay).
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("認証アプリ")

    def save(self, *args, **kwargs):
        if not self.sealed_key:
            self.set_seed(secrets.token_bytes(SEED_BYTES))
        super().save(*args, **kwargs)

    def set_seed(self, seed: bytes) -> None:
        self.sealed_key = seal_seed(self.user_id, self.user.organisation_id, seed)
        self._seed = seed

    @property
    def bin_key(self) -> bytes:
        """The seed, decrypted when first needed."""
        seed = getattr(self, "_seed", None)
        if seed is None:
            seed = self._seed = open_seed(
                self.user_id, self.user.organisation_id, bytes(self.sealed_key)
            )
        return seed

    def verify_token(self, token) -> bool:
        """Accepts a code of the current step (± tolerance) later than the last accepted."""
        allowed, _reason = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            code = int(token)
        except (TypeError, ValueError):
            code = None
        try:
            seed = self.bin_key
        except DecryptionFailed:
            # Not this person's seed (copied from another row) or altered: no code opens it.
            logger.error("second-factor seed of device %s does not decrypt", self.pk)
            return False
        totp = TOTP(seed, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        if code is not None and totp.verify(code, self.tolerance, self.last_t + 1):
            self.last_t = totp.t()
            self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def config_url(self) -> str:
        """The otpauth:// address an authenticator app scans."""
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        label = f"{issuer}:{self.user.get_username()}" if issuer else self.user.get_username()
        params = {
            "secret": b32encode(self.bin_key).decode("ascii"),
            "algorithm": "SHA1",
            "digits": self.digits,
            "period": self.step,
        }
        query = urlencode(params) + (f"&issuer={quote(issuer)}" if issuer else "")
        return f"otpauth://totp/{quote(label)}?{query}"

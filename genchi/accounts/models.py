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

from genchi.vault.errors import DecryptionFailed

from .seeds import open_seed, seal_seed

logger = logging.getLogger("genchi.accounts")

SEED_BYTES = 20  # 160 bits, as RFC 4226 recommends


class Role(models.TextChoices):
    WARD_STAFF = "ward_staff", _("税務課職員")
    WARD_ADMIN = "ward_admin", _("区管理者")
    WARD_AUDITOR = "ward_auditor", _("監査担当(閲覧のみ)")
    MANAGER = "manager", _("取扱責任者")
    HANDLER = "handler", _("取扱者")
    SURVEYOR = "surveyor", _("調査員")


WARD_ROLES = frozenset({Role.WARD_STAFF, Role.WARD_ADMIN, Role.WARD_AUDITOR})
CONTRACTOR_ROLES = frozenset({Role.MANAGER, Role.HANDLER, Role.SURVEYOR})


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

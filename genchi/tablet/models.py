"""Enrolled tablets, their pending enrolments, sign-in challenges and sessions (D6).

A tablet is a browser holding a non-extractable ECDSA P-256 key pair it made itself;
the server keeps only the public key (SubjectPublicKeyInfo, DER, base64). Nothing here
holds personal data: cases travel to the device encrypted in transit (TLS) and are
encrypted again on the device under keys the server never sees.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy, actor


class TabletDevice(RecordedBy):
    """One browser enrolled for one surveyor on one contract (C-S2.3)."""

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="tablets",
        verbose_name=_("契約"),
    )
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tablets",
        verbose_name=_("調査員"),
    )
    label = models.CharField(_("端末の名前"), max_length=64, blank=True)
    public_key = models.TextField(_("公開鍵"))
    key_fingerprint = models.CharField(_("公開鍵の指紋"), max_length=64, unique=True)
    enrolled_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    # `by` (RecordedBy) enrolled the device; a later actor revokes it.
    revoked_by = actor(_("失効させた人"))
    revoke_reason = models.CharField(_("失効の理由"), max_length=200, blank=True)
    last_sync_at = models.DateTimeField(_("最終同期"), null=True, blank=True)
    lease_until = models.DateTimeField(_("利用期限"), null=True, blank=True)
    # Whether the device has been told to wipe (after its revocation) at a contact.
    wiped_at = models.DateTimeField(_("消去指示の送信"), null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        verbose_name = _("調査用タブレット")

    def __str__(self) -> str:
        return f"{self.label or self.key_fingerprint[:12]} ({self.surveyor})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Enrolment(models.Model):
    """A tablet's request to be enrolled: its public key and the short code it shows,
    waiting for a manager to confirm it in the office (or to expire)."""

    code = models.CharField(_("登録コード"), max_length=16, unique=True)
    public_key = models.TextField(_("公開鍵"))
    key_fingerprint = models.CharField(_("公開鍵の指紋"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    expires_at = models.DateTimeField(_("有効期限"))
    device = models.OneToOneField(
        TabletDevice,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="enrolment",
        verbose_name=_("登録された端末"),
    )

    class Meta:
        verbose_name = _("端末の登録申請")

    def __str__(self) -> str:
        return self.code


class Challenge(models.Model):
    """A one-time random value the device signs to sign in (proof of holding its key)."""

    device = models.ForeignKey(TabletDevice, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"challenge {self.pk}"


class DeviceSession(models.Model):
    """A sign-in of the surveyor on the device at the office: sync requests carry its
    token (stored here only as a hash) and the device's signature."""

    device = models.ForeignKey(TabletDevice, on_delete=models.CASCADE, related_name="sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"session {self.pk}"


class UsedNonce(models.Model):
    """Nonces of signed requests seen within the time window: a request replayed is refused."""

    device = models.ForeignKey(TabletDevice, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "nonce"], name="tablet_nonce_once")
        ]

    def __str__(self) -> str:
        return self.nonce


class HeldCase(models.Model):
    """A case the device was given at its last sync down: the list is replaced at each
    sync. It tells a reassigned case from one never given (conflict rules, docs/tablet.md)
    and names the cases that were on a lost device (the incident flow)."""

    device = models.ForeignKey(TabletDevice, on_delete=models.CASCADE, related_name="held_cases")
    case_ref = models.CharField(_("案件番号"), max_length=32)
    since = models.DateTimeField(_("端末に渡した日時"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "case_ref"], name="tablet_held_case_once")
        ]

    def __str__(self) -> str:
        return self.case_ref


class OpenedCase(models.Model):
    """A case opened on the device, offline (every access is logged): the device keeps
    the moment and reports it at its next sync, named by its own id, so a report sent
    twice is logged once. The audit entry (`survey_case.viewed`, view `tablet`) is the
    record people read; this row makes the report idempotent."""

    device = models.ForeignKey(TabletDevice, on_delete=models.CASCADE, related_name="opened")
    client_id = models.CharField(_("端末の記録 ID"), max_length=32)
    case_ref = models.CharField(_("案件番号"), max_length=32)
    opened_at = models.DateTimeField(_("端末で開いた日時"))
    reported_at = models.DateTimeField(_("報告を受けた日時"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "client_id"], name="tablet_opened_once")
        ]

    def __str__(self) -> str:
        return f"{self.case_ref} {self.opened_at:%Y-%m-%d %H:%M}"


class Upload(models.Model):
    """A visit the device sends up (sync up, issue 16 item 3), named by the device's own
    id for it: sent twice, it is stored once. Its fields wait here, sealed by the vault,
    until its last photo has come; then the visit is recorded through fieldwork's one
    write path and the sealed copy is emptied."""

    class State(models.TextChoices):
        WAITING = "waiting", _("写真の受信待ち")
        # Everything has come; the visit is recorded in the background (tasks.settle_upload).
        RECEIVED = "received", _("受信済み(記録待ち)")
        RECORDED = "recorded", _("記録済み")
        REFUSED = "refused", _("受け付けず")

    device = models.ForeignKey(TabletDevice, on_delete=models.CASCADE, related_name="uploads")
    client_id = models.CharField(_("端末での番号"), max_length=32)
    case_ref = models.CharField(_("案件番号"), max_length=32)
    state = models.CharField(_("状態"), max_length=8, choices=State.choices)
    reason = models.CharField(_("受け付けなかった理由"), max_length=32, blank=True)
    # The visit's fields as the device sent them (JSON), sealed under the contract's
    # contractor key; emptied once the visit is recorded or refused.
    sealed = models.BinaryField(_("訪問の内容(暗号化)"), blank=True, default=b"")
    # The photos the visit announced: [[client id, SHA-256 hex], ...] (JSON text).
    photo_list = models.TextField(_("写真の一覧"), default="[]")
    visit = models.ForeignKey(
        "fieldwork.Visit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("記録された訪問"),
    )
    # When the visit form was opened on the device (time on site, checks.py).
    arrived_at = models.DateTimeField(_("現地に着いた時刻"), null=True, blank=True)
    received_at = models.DateTimeField(_("受信日時"), default=timezone.now)
    # When its last part came (received): the worker's sweep records it again if it still
    # waits a while later (its task failed or was lost; tasks.sweep_received).
    completed_at = models.DateTimeField(_("全部受信した日時"), null=True, blank=True)
    settled_at = models.DateTimeField(_("確定日時"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "client_id"], name="tablet_upload_once")
        ]
        verbose_name = _("端末から送られた訪問")

    def __str__(self) -> str:
        return f"{self.case_ref} {self.client_id[:8]}"


class UploadPhoto(models.Model):
    """One photo of an upload, received on its own (an interrupted sync resumes at the
    next missing photo); sealed under the contract's contractor key until the visit is
    recorded, then deleted (the photo lives on as fieldwork's VisitPhoto)."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="photos")
    client_id = models.CharField(max_length=32)
    sealed = models.BinaryField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "client_id"], name="tablet_photo_once")
        ]

    def __str__(self) -> str:
        return self.client_id


class FieldCheck(models.Model):
    """The field checks of a visit sent from a tablet (checks.py): measures, not verdicts;
    the office reviewer sees them, flagged beyond the settings' limits."""

    upload = models.OneToOneField(Upload, on_delete=models.CASCADE, related_name="field_check")
    distance_m = models.PositiveIntegerField(_("住所からの距離(m)"), null=True, blank=True)
    previous_ref = models.CharField(_("前の訪問の案件"), max_length=32, blank=True)
    speed_kmh = models.FloatField(_("前の訪問からの速度(km/h)"), null=True, blank=True)
    seconds_on_site = models.PositiveIntegerField(_("現地での時間(秒)"), null=True, blank=True)
    duplicate_photos = models.PositiveSmallIntegerField(_("同じ画像の写真"), default=0)

    class Meta:
        verbose_name = _("現地での確認")

    def __str__(self) -> str:
        return f"check {self.upload_id}"

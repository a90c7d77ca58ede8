"""An erasure on the contractor's side and a certificate received on the ward's side.

Neither holds personal data: counts, key ids, package ids, the names of the staff who
erased and witnessed, the log's head hash. They outlive the contract's data on purpose:
they are what the ward shows an auditor years later (S12)."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy, actor

CHALLENGE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"


def new_challenge() -> str:
    return "".join(secrets.choice(CHALLENGE_ALPHABET) for _ in range(6))


class Erasure(RecordedBy):
    """One erasure of one side's data of a contract (`by` started it)."""

    class State(models.TextChoices):
        AWAITING_WITNESS = "awaiting", _("立会者の確認待ち")
        WITNESSED = "witnessed", _("立会者確認済み")
        ERASED = "erased", _("消去済み(証明書の作成前)")
        CERTIFIED = "certified", _("消去証明書発行済み")

    class Witnessing(models.TextChoices):
        SIGN_IN = "sign_in", _("区の職員がこの画面でサインイン")
        CODE = "code", _("区の Genchi が示したワンタイムコード")
        NAMED = "named", _("コマンドラインで運用者が氏名を記録")

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    organisation = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("消去した組織"),
    )
    state = models.CharField(
        _("状態"), max_length=12, choices=State.choices, default=State.AWAITING_WITNESS
    )
    started_at = models.DateTimeField(_("開始日時"), default=timezone.now)
    # Typed into the ward's Genchi, which answers with the one-time code (cross-installation).
    challenge = models.CharField(_("照合番号"), max_length=12, default=new_challenge)
    witness_name = models.CharField(_("立会者"), max_length=100, blank=True)
    witness_org = models.CharField(_("立会者の所属"), max_length=200, blank=True)
    witnessing = models.CharField(
        _("立会いの確認方法"), max_length=8, choices=Witnessing.choices, blank=True
    )
    witness_user = actor(_("サインインした立会者"))
    witnessed_at = models.DateTimeField(_("立会い確認日時"), null=True, blank=True)
    erased_at = models.DateTimeField(_("消去日時"), null=True, blank=True)
    certificate_id = models.UUIDField(_("証明書ID"), default=uuid.uuid4, unique=True)
    certified_at = models.DateTimeField(_("証明書発行日時"), null=True, blank=True)
    # The certificate as sent (the package's one record); filled once certified.
    certificate = models.JSONField(_("証明書の内容"), default=dict, blank=True)
    # The signed certificate package (transfer.Package), once written.
    package = models.ForeignKey(
        "transfer.Package",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("証明書パッケージ"),
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("消去")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "organisation"], name="one_erasure_per_side"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_id}:{self.organisation_id} {self.state}"


class ReceivedCertificate(RecordedBy):
    """An erasure certificate the ward imported and verified (`by` imported it)."""

    contract = models.OneToOneField(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("契約"),
    )
    certificate_id = models.UUIDField(_("証明書ID"), unique=True)
    package = models.ForeignKey(
        "transfer.Package", on_delete=models.PROTECT, related_name="+", verbose_name=_("パッケージ")
    )
    certificate = models.JSONField(_("証明書の内容"))
    verified_at = models.DateTimeField(_("検証日時"), default=timezone.now)

    class Meta:
        ordering = ["-verified_at"]
        verbose_name = _("受領した消去証明書")

    def __str__(self) -> str:
        return str(self.certificate_id)

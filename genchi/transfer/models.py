"""Records of the encrypted handover: organisation keys, packages, slips and the USB ledger.

Nothing here holds personal data in clear: packages hold only a manifest summary (counts,
hashes, codes), slips hold names of the staff who handed over, and the secret halves of
organisation keys are stored encrypted under the master key (see orgkeys.py).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy, RecordedByName, actor
from genchi.jobs.models import JobRow


class OrganisationKeyPair(RecordedBy):
    """An organisation's own encryption (age X25519) and signing (Ed25519) key pair.

    `secret_blob` is the secret key file encrypted with AES-256-GCM under the master key;
    `master_key_id` names the master key that wraps it.
    """

    organisation = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="key_pairs",
        verbose_name=_("組織"),
    )
    age_recipient = models.CharField(_("暗号化用公開鍵"), max_length=128)
    signing_public_key = models.CharField(_("署名用公開鍵(Base64)"), max_length=64)
    encryption_fingerprint = models.CharField(_("暗号化鍵フィンガープリント"), max_length=80)
    signing_fingerprint = models.CharField(_("署名鍵フィンガープリント"), max_length=80)
    secret_blob = models.BinaryField(_("秘密鍵(マスター鍵で暗号化)"))
    master_key_id = models.CharField(_("マスター鍵ID"), max_length=32)
    card_json = models.TextField(_("公開鍵カード"))
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    retired_at = models.DateTimeField(_("廃止日時"), null=True, blank=True)

    class Meta:
        ordering = ["organisation", "-created_at"]
        verbose_name = _("組織の鍵ペア")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_key_pair_per_organisation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation.code}: {self.signing_fingerprint[:19]}"


class PartnerKeyCard(RecordedBy):
    """A partner organisation's public key card, imported by `holder` (whose Genchi trusts it)."""

    holder = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="trusted_cards",
        verbose_name=_("登録した組織"),
    )
    subject = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="cards_held_by_partners",
        verbose_name=_("相手の組織"),
    )
    org_name = models.CharField(_("カード記載の組織名"), max_length=100)
    age_recipient = models.CharField(_("暗号化用公開鍵"), max_length=128)
    signing_public_key = models.CharField(_("署名用公開鍵(Base64)"), max_length=64)
    encryption_fingerprint = models.CharField(_("暗号化鍵フィンガープリント"), max_length=80)
    signing_fingerprint = models.CharField(_("署名鍵フィンガープリント"), max_length=80)
    card_json = models.TextField(_("公開鍵カード"))
    imported_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    fingerprints_compared = models.BooleanField(_("フィンガープリントを照合済み"), default=False)
    retired_at = models.DateTimeField(_("廃止日時"), null=True, blank=True)

    class Meta:
        ordering = ["holder", "subject", "-imported_at"]
        verbose_name = _("相手の公開鍵カード")
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "subject"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_card_per_partner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.holder.code} ← {self.subject.code}"


class ContractRecipientKey(RecordedBy):
    """One side's recipient key pair for one contract: packages of the contract are
    encrypted to it, not to the organisation's key (issue 11, item 10).

    `secret_blob` is the age identity encrypted by the vault under this side's data key
    of the contract (`vault.encrypt`, context "contract-recipient:<id>"): destroying that
    data key when the contract is erased makes the secret, and every copy of the
    contract's packages, unreadable. `destroyed_at` records the erasure.
    """

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="recipient_keys",
        verbose_name=_("契約"),
    )
    organisation = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="contract_recipient_keys",
        verbose_name=_("受け取る組織"),
    )
    age_recipient = models.CharField(_("暗号化用公開鍵"), max_length=128)
    encryption_fingerprint = models.CharField(_("暗号化鍵フィンガープリント"), max_length=80)
    secret_blob = models.BinaryField(_("秘密鍵(契約のデータ鍵で暗号化)"))
    card_json = models.TextField(_("契約の受け取り鍵カード"))
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    destroyed_at = models.DateTimeField(_("破棄日時"), null=True, blank=True)

    class Meta:
        ordering = ["contract", "organisation"]
        verbose_name = _("契約の受け取り鍵")
        constraints = [
            # One per side and contract, for good: erasure destroys it and makes no other.
            models.UniqueConstraint(
                fields=["contract", "organisation"], name="one_recipient_key_per_contract_side"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract.code}/{self.organisation.code}: {self.encryption_fingerprint[:19]}"


class PartnerContractCard(RecordedBy):
    """The other side's contract recipient card, registered by `holder` after comparing
    the fingerprint read out: what `holder` encrypts the contract's packages to."""

    holder = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("登録した組織"),
    )
    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="partner_recipient_cards",
        verbose_name=_("契約"),
    )
    subject = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("相手の組織"),
    )
    age_recipient = models.CharField(_("暗号化用公開鍵"), max_length=128)
    encryption_fingerprint = models.CharField(_("暗号化鍵フィンガープリント"), max_length=80)
    card_json = models.TextField(_("契約の受け取り鍵カード"))
    imported_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    retired_at = models.DateTimeField(_("廃止日時"), null=True, blank=True)

    class Meta:
        ordering = ["holder", "contract", "-imported_at"]
        verbose_name = _("相手の契約の受け取り鍵カード")
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "contract", "subject"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_contract_card_per_partner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.holder.code} ← {self.subject.code} ({self.contract.code})"


class Package(RecordedBy):
    """One encrypted package as seen by one organisation (`holder`): sent or received."""

    class Direction(models.TextChoices):
        OUTGOING = "out", _("送付")
        INCOMING = "in", _("受領")

    class Kind(models.TextChoices):
        CASES = "cases", _("調査対象者データ")
        RESULTS = "results", _("調査結果データ")
        CERTIFICATE = "certificate", _("消去証明書")
        INCIDENT = "incident", _("事故報告")

    class Delivery(models.TextChoices):
        """How a sent package reached the stick (blank: received, or from before)."""

        # Genchi on a server: the officer downloads the file and saves it onto the stick.
        DOWNLOAD = "download", _("ダウンロードしてUSBメモリに保存")
        # Genchi on the officer's PC (or the command line): written into a folder there.
        FOLDER = "folder", _("この機器のフォルダに書き込み")

    package_id = models.UUIDField(_("パッケージID"), default=uuid.uuid4)
    holder = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="packages",
        verbose_name=_("記録した組織"),
    )
    direction = models.CharField(_("方向"), max_length=4, choices=Direction.choices)
    kind = models.CharField(_("種類"), max_length=16, choices=Kind.choices)
    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="packages",
        verbose_name=_("契約"),
    )
    batch_code = models.CharField(_("バッチ"), max_length=64, blank=True)
    sender = models.ForeignKey(
        "parties.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("送り手")
    )
    recipient = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("受け手"),
    )
    record_count = models.PositiveIntegerField(_("件数"))
    photo_count = models.PositiveIntegerField(_("写真数"), default=0)
    # The package digest: SHA-256 of the signed manifest, not of the encrypted file.
    digest = models.CharField(_("ダイジェスト"), max_length=64)
    size = models.BigIntegerField(_("サイズ(バイト)"))
    filename = models.CharField(_("ファイル名"), max_length=200)
    passphrase_protected = models.BooleanField(_("パスワード保護"), default=False)
    manifest_created_at = models.CharField(_("作成日時(マニフェスト)"), max_length=40)
    signing_fingerprint = models.CharField(_("署名鍵フィンガープリント"), max_length=80)
    stick = models.ForeignKey(
        "transfer.UsbStick",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="packages",
        verbose_name=_("USBメモリ"),
    )
    answers = models.UUIDField(_("応答元パッケージ"), null=True, blank=True)
    at = models.DateTimeField(_("日時"), default=timezone.now)
    delivery = models.CharField(
        _("書き出し方法"), max_length=10, choices=Delivery.choices, blank=True
    )
    # SHA-256 of the encrypted file itself: what the officer compares after saving it.
    file_sha256 = models.CharField(_("ファイルの SHA-256"), max_length=64, blank=True)
    download_count = models.PositiveIntegerField(_("ダウンロード回数"), default=0)
    last_downloaded_at = models.DateTimeField(_("最終ダウンロード日時"), null=True, blank=True)
    last_downloaded_by = actor(_("最終ダウンロード者"))
    # When the server's copy of a download package was overwritten and deleted.
    server_copy_removed_at = models.DateTimeField(
        _("サーバー上のファイルの削除日時"), null=True, blank=True
    )

    class Meta:
        ordering = ["-at"]
        verbose_name = _("受け渡しパッケージ")
        constraints = [
            # A package is recorded once per organisation: this is the replay guard.
            models.UniqueConstraint(
                fields=["holder", "direction", "package_id"], name="package_once_per_holder"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.package_id}"

    @property
    def short_id(self) -> str:
        return str(self.package_id)[:8]


class HandoverSlip(RecordedBy):
    """受け渡し票: the record of one handover, kept by each side (W-O3, C-O8)."""

    class Direction(models.TextChoices):
        WARD_TO_CONTRACTOR = "w2c", _("区 → 受託者")
        CONTRACTOR_TO_WARD = "c2w", _("受託者 → 区")

    class State(models.TextChoices):
        ISSUED = "issued", _("発行済み")
        RECEIVED = "received", _("受領済み")
        CONFIRMED = "confirmed", _("確認済み")

    package = models.OneToOneField(
        Package, on_delete=models.PROTECT, related_name="slip", verbose_name=_("パッケージ")
    )
    holder = models.ForeignKey(
        "parties.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("記録側")
    )
    number = models.CharField(_("票番号"), max_length=40)
    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="slips", verbose_name=_("契約")
    )
    direction = models.CharField(_("方向"), max_length=4, choices=Direction.choices)
    state = models.CharField(_("状態"), max_length=12, choices=State.choices, default=State.ISSUED)
    giver_org = models.CharField(_("渡した組織"), max_length=200)
    giver_name = models.CharField(_("渡した担当者"), max_length=100)
    receiver_org = models.CharField(_("受け取った組織"), max_length=200)
    receiver_name = models.CharField(_("受け取った担当者"), max_length=100, blank=True)
    content = models.CharField(_("内容"), max_length=200)
    record_count = models.PositiveIntegerField(_("件数"))
    package_uuid = models.UUIDField(_("パッケージID"))
    digest = models.CharField(_("ダイジェスト"), max_length=64)
    stick_label = models.CharField(_("USBメモリ"), max_length=64, blank=True)
    # When the stick changed hands, the same on both sides' slips: the giver records it
    # with the handover, the receiver takes it from the paper slip (docs/handover.md §4).
    handed_at = models.DateTimeField(_("受け渡し日時"), null=True, blank=True)
    log_count = models.BigIntegerField(_("監査ログ件数"))
    log_head = models.CharField(_("監査ログ先頭ハッシュ"), max_length=64)
    issued_at = models.DateTimeField(_("発行日時"), default=timezone.now)  # the issuer is `by`
    received_at = models.DateTimeField(_("受領日時"), null=True, blank=True)
    received_by = actor()
    confirmed_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    confirmed_by = actor()
    confirmation_note = models.CharField(_("確認メモ"), max_length=200, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("受け渡し票")
        constraints = [
            models.UniqueConstraint(fields=["holder", "number"], name="slip_number_per_holder")
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def qr_text(self) -> str:
        """What the slip's QR code holds: the package id and digest, nothing personal."""
        return f"GENCHI-SLIP:{self.package_uuid}:{self.digest}"


class UsbStick(RecordedBy):
    """A ward-managed, password-protected USB stick (W-O4), in the ledger (W-O5)."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("保管中")
        LENT = "lent", _("貸出中")
        RETIRED = "retired", _("廃棄済み")

    owner = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="usb_sticks",
        verbose_name=_("管理組織"),
    )
    label = models.SlugField(_("管理番号"), max_length=64)
    serial = models.CharField(_("製造番号"), max_length=100)
    capacity_gb = models.PositiveIntegerField(_("容量(GB)"))
    model_name = models.CharField(_("機種"), max_length=100, blank=True)
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.AVAILABLE
    )
    needs_wipe = models.BooleanField(_("消去待ち"), default=False)
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["owner", "label"]
        verbose_name = _("USBメモリ")
        constraints = [
            models.UniqueConstraint(fields=["owner", "label"], name="usb_label_per_owner")
        ]

    def __str__(self) -> str:
        return self.label


class StickLoan(RecordedBy):
    """One lending of a stick: to whom, when, until when, with which package (W-O5)."""

    stick = models.ForeignKey(
        UsbStick, on_delete=models.PROTECT, related_name="loans", verbose_name=_("USBメモリ")
    )
    borrower_name = models.CharField(_("借受者"), max_length=100)
    borrower_org = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("借受組織"),
    )
    purpose = models.CharField(_("用途"), max_length=200, blank=True)
    lent_at = models.DateTimeField(_("貸出日時"), default=timezone.now)  # the lender is `by`
    due_on = models.DateField(_("返却予定日"))
    package = models.ForeignKey(
        Package,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loans",
        verbose_name=_("パッケージ"),
    )
    returned_at = models.DateTimeField(_("返却日時"), null=True, blank=True)
    returned_by_name = models.CharField(_("返却者"), max_length=100, blank=True)
    received_back_by = actor(_("返却受付"))

    class Meta:
        ordering = ["-lent_at"]
        verbose_name = _("USBメモリの貸出")
        constraints = [
            models.UniqueConstraint(
                fields=["stick"],
                condition=models.Q(returned_at__isnull=True),
                name="one_open_loan_per_stick",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stick.label} → {self.borrower_name}"

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.returned_at is None and self.due_on < today


class StickEvent(RecordedByName):
    """One line of the USB ledger: registration, lending, return, inspection, wipe, write."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("登録")
        LENT = "lent", _("貸出")
        PACKAGE_WRITTEN = "written", _("パッケージ書込")
        PACKAGE_DOWNLOADED = "downloaded", _("パッケージのダウンロード")
        RETURNED = "returned", _("返却")
        INSPECTED = "inspected", _("点検")
        WIPED = "wiped", _("消去・初期化")
        RETIRED = "retired", _("廃棄")

    class WipeMethod(models.TextChoices):
        OVERWRITE_DELETE = "overwrite", _("Genchi による上書き削除(ファイル単位)")
        DEVICE_SECURE_ERASE = "secure_erase", _("機器のセキュア消去機能(NIST SP 800-88 Purge)")
        FORMAT = "format", _("初期化(フォーマット)+上書き")
        DESTROYED = "destroyed", _("物理破壊(NIST SP 800-88 Destroy)")

    stick = models.ForeignKey(
        UsbStick, on_delete=models.PROTECT, related_name="events", verbose_name=_("USBメモリ")
    )
    kind = models.CharField(_("区分"), max_length=12, choices=Kind.choices)
    at = models.DateTimeField(_("日時"), default=timezone.now)
    loan = models.ForeignKey(
        StickLoan, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    package = models.ForeignKey(
        Package, on_delete=models.PROTECT, null=True, blank=True, related_name="stick_events"
    )
    method = models.CharField(_("消去方法"), max_length=16, choices=WipeMethod.choices, blank=True)
    result_ok = models.BooleanField(_("結果良好"), default=True)
    files_removed = models.PositiveIntegerField(_("削除したファイル数"), default=0)
    # What Genchi says about the line, as a code and its values (ledger_text.py puts it
    # in the reader's language); `note` is only what a person typed (and old rows' text).
    text_code = models.CharField(_("記録の種類コード"), max_length=32, blank=True)
    text_params = models.JSONField(_("記録の値"), default=dict, blank=True)
    note = models.CharField(_("備考"), max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("USBメモリ管理台帳の記録")

    def __str__(self) -> str:
        return f"{self.stick.label}: {self.get_kind_display()}"

    @property
    def text(self) -> str:
        """The line's content in the active language (see ledger_text.py)."""
        from .ledger_text import event_text

        return event_text(self)


class HandoverJob(JobRow):
    """A package export (ward) or import (contractor) asked on a page and done by a worker.

    Says what was asked and by whom (`job_requested_by`), and once done links the package
    and its slip; when refused, `job_outcome` holds the refusal code and `job_message`
    its words. A passphrase waits here only encrypted under the organisation's own key
    and is erased when the job ends; an uploaded package waits as the ciphertext it is,
    in the job's private folder (`genchi.jobs.files`).
    """

    class Direction(models.TextChoices):
        EXPORT = "export", _("書き出し")
        IMPORT = "import", _("取り込み")

    job_audit_prefix = "handover.job"

    direction = models.CharField(_("処理"), max_length=8, choices=Direction.choices)
    organisation = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.PROTECT,
        related_name="handover_jobs",
        verbose_name=_("組織"),
    )
    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="handover_jobs",
        null=True,
        blank=True,
        verbose_name=_("契約"),
    )
    kind = models.CharField(_("種類"), max_length=16, default="cases")
    item_key = models.PositiveBigIntegerField(_("書き出す対象"), null=True, blank=True)
    stick = models.ForeignKey(
        "transfer.UsbStick",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("USBメモリ"),
    )
    # Encrypted under the asking organisation's own key (genchi.vault), bound to this row.
    passphrase_encrypted = models.BinaryField(_("パスワード(暗号化)"), blank=True, default=b"")
    filename = models.CharField(_("ファイル名"), max_length=200, blank=True)
    giver_name = models.CharField(_("渡した担当者"), max_length=100, blank=True)
    stick_label = models.CharField(_("USBメモリの管理番号"), max_length=64, blank=True)
    handed_at = models.DateTimeField(_("受け渡し日時"), null=True, blank=True)
    delivery = models.CharField(
        _("書き出し方法"),
        max_length=10,
        choices=Package.Delivery.choices,
        default=Package.Delivery.DOWNLOAD,
    )
    package = models.ForeignKey(
        Package, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    slip = models.ForeignKey(
        HandoverSlip, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(_("依頼日時"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("受け渡しの処理")

    def __str__(self) -> str:
        return f"{self.get_direction_display()} #{self.pk}"

    def job_failed_changes(self) -> dict:
        return {"passphrase_encrypted": b""}

    @classmethod
    def job_cleanup(cls) -> int:
        from .services.outgoing import settle_staged_everywhere

        return settle_staged_everywhere()

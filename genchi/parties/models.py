import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy
from genchi.core.wareki import fiscal_year_label


class Organisation(models.Model):
    class Kind(models.TextChoices):
        WARD = "ward", _("区(委託者)")
        CONTRACTOR = "contractor", _("受託事業者")

    code = models.SlugField(_("組織コード"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("種別"), max_length=16, choices=Kind.choices)
    # The ward's own city, e.g. 東京都新宿区: intake refuses addresses inside it (J1).
    home_city = models.CharField(_("区の所在地(都道府県+市区町村)"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("組織")

    def __str__(self) -> str:
        return self.name

    @property
    def is_ward(self) -> bool:
        return self.kind == self.Kind.WARD


# A contact slip (連絡票) may be seen by anyone at the address: nothing on it may say that
# the letter is about taxes. These never appear in the slip's settings.
SLIP_TAX_WORDS = ("税", "滞納", "督促", "差押", "差し押", "未納", "延滞", "納付", "徴収", "催告")
DEFAULT_SLIP_WORDING = "お知らせしたいことがありますので、下記までご連絡ください。"
_PREFECTURE = re.compile(r"^(?:東京都|北海道|京都府|大阪府|[^都道府県]{2,3}県)")
SLIP_FIELDS = (
    "contact_department",
    "contact_phone",
    "contact_hours",
    "contact_address",
    "slip_wording",
)


def validate_slip_text(value: str) -> None:
    found = [w for w in SLIP_TAX_WORDS if w in (value or "")]
    if found:
        raise ValidationError(
            _(
                "連絡票は本人以外の方の目に触れることがあるため、「%(words)s」など税に関する"
                "語は使えません。"
            ),
            code="slip_tax_word",
            params={"words": "」「".join(found)},
        )


class Contract(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("準備中")
        ACTIVE = "active", _("履行中")
        CLOSING = "closing", _("完了処理中")
        CLOSED = "closed", _("終了")

    code = models.SlugField(_("契約コード"), max_length=64, unique=True)
    title = models.CharField(_("件名"), max_length=200)
    ward = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="ward_contracts",
        verbose_name=_("委託者"),
    )
    contractor = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="contractor_contracts",
        verbose_name=_("受託者"),
    )
    fiscal_year = models.PositiveIntegerField(_("年度"))
    starts_on = models.DateField(_("履行期間(開始)"))
    ends_on = models.DateField(_("履行期間(終了)"))
    max_cases = models.PositiveIntegerField(_("最大件数"), default=500)
    # What the ward pays for the contract (税込, 円): the yearly evaluation's cost per case
    # and per yen collected (J2). Entered by the ward; blank until known.
    amount = models.PositiveBigIntegerField(
        _("契約金額(円)"),
        null=True,
        blank=True,
        help_text=_("税込。年度評価の1件あたり・回収1円あたりの費用に使います。"),
    )
    status = models.CharField(
        _("状態"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    # The contact slip (連絡票) the surveyor leaves at the address: whom to call, and how
    # it is worded. Set by the ward; printed by fieldwork.documents.
    contact_department = models.CharField(
        _("連絡票の差出人(部署名)"),
        max_length=100,
        blank=True,
        validators=[validate_slip_text],
        help_text=_(
            "連絡票に差出人として印刷します。空欄なら「(区名)役所」。税に関する語は使えません。"
            "例: 新宿区役所 区民相談係"
        ),
    )
    contact_phone = models.CharField(
        _("連絡票の電話番号"),
        max_length=32,
        blank=True,
        help_text=_("連絡票を印刷するには必要です。例: 03-1234-5678"),
    )
    contact_hours = models.CharField(
        _("連絡票の受付時間"),
        max_length=100,
        blank=True,
        validators=[validate_slip_text],
        help_text=_("例: 平日 8時30分〜17時15分"),
    )
    contact_address = models.CharField(
        _("連絡票の所在地"),
        max_length=200,
        blank=True,
        validators=[validate_slip_text],
    )
    slip_wording = models.TextField(
        _("連絡票の文面"),
        max_length=300,  # a few lines on the slip; longer would run into the number's box
        blank=True,  # empty: the default wording
        default=DEFAULT_SLIP_WORDING,
        validators=[validate_slip_text],
        help_text=_(
            "封筒に入れて郵便受けに投函します。本人以外の方が読んでも用件が分からない文面に"
            "してください(税に関する語は使えません)。空欄なら標準の文面です。"
        ),
    )

    class Meta:
        ordering = ["-fiscal_year", "code"]
        verbose_name = _("委託契約")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="contract_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}({self.code})"

    @property
    def fiscal_year_label(self) -> str:
        """令和8年度: how the ward names the year of its budget."""
        return fiscal_year_label(self.fiscal_year)

    @property
    def slip_text(self) -> str:
        """The wording printed on the contact slip (the default when left empty)."""
        return self.slip_wording.strip() or DEFAULT_SLIP_WORDING

    @property
    def slip_sender(self) -> str:
        """Who the contact slip is from: the set department, else the ward's office
        (東京都新宿区 → 新宿区役所); never the ward's organisation name, which may name
        the tax division."""
        if self.contact_department.strip():
            return self.contact_department.strip()
        city = _PREFECTURE.sub("", self.ward.home_city.strip())
        return f"{city}役所" if city else ""


class Designation(RecordedBy):
    """A contractor person designated on one contract (C-O1, S13), with dates."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("取扱責任者")
        HANDLER = "handler", _("取扱者")
        SURVEYOR = "surveyor", _("調査員")

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="designations", verbose_name=_("契約")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="designations",
        verbose_name=_("担当者"),
    )
    role = models.CharField(_("役割"), max_length=16, choices=Role.choices)
    starts_on = models.DateField(_("指定日"))
    # A time, not a date: ending a designation takes effect at once (issue 12); the next
    # request of the person on this contract is refused.
    ended_at = models.DateTimeField(_("指定解除"), null=True, blank=True)
    reported_to_ward_on = models.DateField(_("区への報告日"), null=True, blank=True)

    class Meta:
        ordering = ["contract", "role", "starts_on"]
        verbose_name = _("担当者の指定")

    def __str__(self) -> str:
        return f"{self.contract.code}: {self.person} ({self.get_role_display()})"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None and self.starts_on <= timezone.localdate()


class TrainingRecord(RecordedBy):
    """One training a contractor person took (S18): PI handling and information security,
    with the ward's ordinance and the contract's special provisions read."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="trainings",
        verbose_name=_("受講者"),
    )
    trained_on = models.DateField(_("受講日"))
    course = models.CharField(_("研修名"), max_length=200)
    taught_by = models.CharField(_("講師"), max_length=100)
    ordinance_read = models.BooleanField(_("個人情報保護条例を周知"), default=False)
    provisions_read = models.BooleanField(_("特記事項を周知"), default=False)
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["person", "-trained_on", "-id"]
        verbose_name = _("研修の記録")

    def __str__(self) -> str:
        return f"{self.person}: {self.course} ({self.trained_on})"


class Pledge(RecordedBy):
    """A signed confidentiality pledge (誓約書). The signed paper is kept as a scan
    (encrypted under the organisation's key) or ticked as filed on paper."""

    class ScanType(models.TextChoices):
        PDF = "pdf", "PDF"
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="pledges",
        verbose_name=_("誓約者"),
    )
    signed_on = models.DateField(_("誓約日"))
    on_paper = models.BooleanField(_("紙で保管"), default=False)
    scan = models.BinaryField(_("スキャン(暗号化)"), blank=True, default=b"")
    scan_type = models.CharField(
        _("スキャンの形式"), max_length=8, choices=ScanType.choices, blank=True
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["person", "-signed_on", "-id"]
        verbose_name = _("誓約書")

    def __str__(self) -> str:
        return f"{self.person}: {self.signed_on}"

    @property
    def has_scan(self) -> bool:
        return bool(self.scan_type)


class StaffPhoto(RecordedBy):
    """A person's photo for the ID card, encrypted under the organisation's key."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="staff_photo",
        verbose_name=_("本人"),
    )
    image = models.BinaryField(_("写真(暗号化)"))
    image_type = models.CharField(_("形式"), max_length=8)
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("身分証明書の写真")


class IdCard(RecordedBy):
    """A surveyor's ID card and letter of commission (C-O3), checkable by its QR code."""

    designation = models.ForeignKey(
        Designation, on_delete=models.PROTECT, related_name="id_cards", verbose_name=_("指定")
    )
    serial = models.CharField(_("証明書番号"), max_length=32, unique=True)
    # The QR code carries this random token, not the serial: a card cannot be guessed.
    token = models.CharField(_("照合キー"), max_length=64, unique=True)
    issued_on = models.DateField(_("発行日"))
    valid_until = models.DateField(_("有効期限"))
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("身分証明書・委託証明書")

    def __str__(self) -> str:
        return self.serial

"""The contractor's working copy of the cases it received (J3 items only, encrypted, D1),
the visits made to them (J4, J5) with their photos, and each case's outcome and review."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy
from genchi.core.outcomes import MAX_LENGTH as OUTCOME_LENGTH
from genchi.core.outcomes import Outcome
from genchi.jobs.models import JobRow
from genchi.vault.fields import EncryptedTextField
from genchi.vault.scopes import CONTRACTOR


class Review(models.TextChoices):
    PENDING = "pending", _("確認待ち")
    APPROVED = "approved", _("承認済み")
    SENT_BACK = "sent_back", _("差し戻し")


class SurveyCase(models.Model):
    """One received case on the contractor side. Grown by the fieldwork issue."""

    class Status(models.TextChoices):
        # "received" is the stored value of a case nobody has been assigned yet.
        RECEIVED = "received", _("未割当")
        ASSIGNED = "assigned", _("割当済み")
        VISITED = "visited", _("訪問済み")
        DONE = "done", _("完了")
        REPORTED = "reported", _("報告済み")

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="survey_cases",
        verbose_name=_("契約"),
    )
    case_ref = models.CharField(_("案件番号"), max_length=32)
    # The four items of J3, exactly as the package carried them.
    postal_code = EncryptedTextField(
        _("郵便番号"), blank=True, holder=CONTRACTOR, row_field="case_ref"
    )
    address = EncryptedTextField(_("住所"), holder=CONTRACTOR, row_field="case_ref")
    building_line = EncryptedTextField(
        _("方書"), blank=True, holder=CONTRACTOR, row_field="case_ref"
    )
    name = EncryptedTextField(_("氏名"), holder=CONTRACTOR, row_field="case_ref")
    # The address engine's reading (genchi.geo.normalize), computed at import. Prefecture
    # and city stay clear for the filters and area planning; the rest is encrypted.
    pref = models.CharField(_("都道府県"), max_length=8, blank=True, db_index=True)
    pref_code = models.PositiveSmallIntegerField(_("都道府県コード"), default=0)
    city = models.CharField(_("市区町村"), max_length=32, blank=True, db_index=True)
    town = EncryptedTextField(_("町字"), blank=True, holder=CONTRACTOR, row_field="case_ref")
    rest = EncryptedTextField(_("番地以下"), blank=True, holder=CONTRACTOR, row_field="case_ref")
    lat = EncryptedTextField(_("緯度"), blank=True, holder=CONTRACTOR, row_field="case_ref")
    lng = EncryptedTextField(_("経度"), blank=True, holder=CONTRACTOR, row_field="case_ref")
    geocode_level = models.PositiveSmallIntegerField(_("住所の判定レベル"), default=0)
    # Keyed hash of the name (vault.blind_index): exact-match search, never the name itself.
    name_index = models.CharField(_("氏名の照合キー"), max_length=64, blank=True, db_index=True)
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        # The assignee, not the record's author (that would be core.RecordedBy).
        related_name="assigned_survey_cases",
        verbose_name=_("調査員"),
    )
    # Counted by the visits issue; 0 until a visit is recorded.
    visit_count = models.PositiveIntegerField(_("訪問回数"), default=0)
    received_in = models.ForeignKey(
        "transfer.Package",
        on_delete=models.PROTECT,
        related_name="survey_cases",
        verbose_name=_("受領パッケージ"),
    )
    status = models.CharField(
        _("状態"), max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    # The case's conclusion so far (the latest visit's), reviewed by the office (issue 15).
    outcome = models.CharField(
        _("調査結果"),
        max_length=OUTCOME_LENGTH,
        choices=Outcome.choices,
        blank=True,
        db_index=True,
    )
    needs_revisit = models.BooleanField(_("再訪問の要否"), default=False)
    contact_slip_left = models.BooleanField(_("連絡票の交付"), default=False)
    review = models.CharField(
        _("確認"), max_length=16, choices=Review.choices, blank=True, db_index=True
    )
    # Why the office sent the case back to the surveyor (kept encrypted: it may quote).
    review_reason = EncryptedTextField(
        _("差し戻しの理由"), blank=True, holder=CONTRACTOR, row_field="case_ref"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviewed_survey_cases",
        verbose_name=_("確認者"),
    )
    reviewed_at = models.DateTimeField(_("確認日時"), null=True, blank=True)

    class Meta:
        ordering = ["contract", "id"]
        indexes = [models.Index(fields=["contract", "surveyor"], name="survey_case_surveyor")]
        verbose_name = _("調査案件(受託者)")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "case_ref"], name="survey_case_ref_per_contract"
            )
        ]

    def __str__(self) -> str:
        return self.case_ref


def _new_uid() -> str:
    return uuid.uuid4().hex


class Seen(models.TextChoices):
    """An observation at the door: seen, not seen, or could not be checked."""

    YES = "yes", _("あり")
    NO = "no", _("なし")
    UNKNOWN = "unknown", _("確認できず")


class Visit(RecordedBy):
    """One attempt at a case's address (訪問): what the surveyor saw and heard, in the
    order met at the door. Only what J4 and the practice need (S3); free text encrypted."""

    class Source(models.TextChoices):
        OFFICE = "office", _("事務所で入力")
        TABLET = "tablet", _("タブレット")

    class PositionSource(models.TextChoices):
        GPS = "gps", _("端末のGPS")
        MANUAL = "manual", _("手入力")
        NONE = "none", _("なし")

    class BuildingType(models.TextChoices):
        DETACHED = "detached", _("戸建て")
        APARTMENT = "apartment", _("集合住宅")
        AUTOLOCK = "autolock", _("集合住宅(オートロック)")
        UNKNOWN = "unknown", _("確認できず")

    class Nameplate(models.TextChoices):
        TAXPAYER = "taxpayer", _("本人の氏名")
        OTHER = "other", _("別の氏名")
        NONE = "none", _("なし")
        UNKNOWN = "unknown", _("確認できず")

    class Meter(models.TextChoices):
        MOVING = "moving", _("動いている")
        STILL = "still", _("止まっている")
        UNKNOWN = "unknown", _("確認できず")

    class Tenure(models.TextChoices):
        OWNED = "owned", _("持ち家")
        RENTED = "rented", _("賃貸")
        UNKNOWN = "unknown", _("不明")

    class ContactSlip(models.TextChoices):
        IN_PERSON = "in_person", _("手渡し")
        POSTED = "posted", _("郵便受けに投函")
        NOT_LEFT = "not_left", _("交付せず")

    class Interviewee(models.TextChoices):
        NONE = "none", _("面談なし")
        PERSON = "person", _("本人")
        FAMILY = "family", _("家族")
        NEIGHBOUR = "neighbour", _("近隣の人")
        MANAGER = "manager", _("管理人・管理会社")

    # Names the row for the encrypted fields (set before insert, never changes).
    uid = models.CharField(max_length=32, default=_new_uid, unique=True, editable=False)
    case = models.ForeignKey(
        SurveyCase, on_delete=models.PROTECT, related_name="visits", verbose_name=_("案件")
    )
    # The case's contract, for the key the encrypted fields are under.
    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    number = models.PositiveIntegerField(_("訪問の回"))
    visited_at = models.DateTimeField(_("訪問日時"))
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="visits_made",
        verbose_name=_("調査員"),
    )
    source = models.CharField(_("記録の方法"), max_length=8, choices=Source.choices)
    # Where the surveyor stood: near the taxpayer's home, so encrypted like the case's own.
    lat = EncryptedTextField(_("緯度"), blank=True, holder=CONTRACTOR, row_field="uid")
    lng = EncryptedTextField(_("経度"), blank=True, holder=CONTRACTOR, row_field="uid")
    accuracy_m = models.PositiveIntegerField(_("位置の精度(m)"), null=True, blank=True)
    position_source = models.CharField(
        _("位置の取得方法"), max_length=8, choices=PositionSource.choices
    )
    building_type = models.CharField(_("建物の種類"), max_length=16, choices=BuildingType.choices)
    nameplate = models.CharField(_("表札"), max_length=16, choices=Nameplate.choices)
    mailbox_name = models.CharField(_("郵便受けの名前"), max_length=16, choices=Nameplate.choices)
    mail_piled = models.CharField(_("郵便物の溜まり"), max_length=8, choices=Seen.choices)
    electricity = models.CharField(_("電気メーター"), max_length=8, choices=Meter.choices)
    gas = models.CharField(_("ガスメーター"), max_length=8, choices=Meter.choices)
    water = models.CharField(_("水道メーター"), max_length=8, choices=Meter.choices)
    lights = models.CharField(_("照明"), max_length=8, choices=Seen.choices)
    washing = models.CharField(_("洗濯物"), max_length=8, choices=Seen.choices)
    curtains = models.CharField(_("カーテン"), max_length=8, choices=Seen.choices)
    vacancy_signs = models.CharField(_("空き家の兆候"), max_length=8, choices=Seen.choices)
    answered = models.BooleanField(_("応答"))
    interviewee = models.CharField(_("面談の相手"), max_length=16, choices=Interviewee.choices)
    interview = EncryptedTextField(_("面談の内容"), blank=True, holder=CONTRACTOR, row_field="uid")
    contact_slip = models.CharField(_("連絡票"), max_length=16, choices=ContactSlip.choices)
    tenure = models.CharField(_("持ち家・賃貸"), max_length=8, choices=Tenure.choices)
    landlord_name = EncryptedTextField(
        _("大家・管理会社の名称"), blank=True, holder=CONTRACTOR, row_field="uid"
    )
    landlord_phone = EncryptedTextField(
        _("大家・管理会社の電話番号"), blank=True, holder=CONTRACTOR, row_field="uid"
    )
    outcome = models.CharField(_("調査結果"), max_length=OUTCOME_LENGTH, choices=Outcome.choices)
    needs_revisit = models.BooleanField(_("再訪問の要否"), default=False)
    notes = EncryptedTextField(_("メモ"), blank=True, holder=CONTRACTOR, row_field="uid")
    recorded_at = models.DateTimeField(_("記録日時"), default=timezone.now)

    class Meta:
        ordering = ["case", "number"]
        verbose_name = _("訪問")
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="visit_number_per_case")
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.number}"


class VisitPhoto(models.Model):
    """A photo of a visit: cleaned of metadata, encrypted under the contract's
    contractor key and kept in the `genchi_files` storage under photos/."""

    class Kind(models.TextChoices):
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"

    uid = models.CharField(max_length=32, default=_new_uid, unique=True, editable=False)
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, related_name="photos", verbose_name=_("訪問")
    )
    case = models.ForeignKey(
        SurveyCase, on_delete=models.PROTECT, related_name="photos", verbose_name=_("案件")
    )
    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    storage_name = models.CharField(_("保存名"), max_length=200)
    kind = models.CharField(_("形式"), max_length=4, choices=Kind.choices)
    width = models.PositiveIntegerField(_("幅"))
    height = models.PositiveIntegerField(_("高さ"))
    size = models.PositiveIntegerField(_("バイト数"))
    # Perceptual hash (64 bits, hex): the same picture handed in for two cases is flagged.
    phash = models.CharField(_("知覚ハッシュ"), max_length=16, db_index=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("同じ写真"),
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["visit", "id"]
        verbose_name = _("訪問の写真")

    def __str__(self) -> str:
        return self.uid


class SurveyClosing(JobRow):
    """One closing of a contract's survey by the manager (issue 15 item 6), run as a job:
    the report (PDF and XLSX, kept encrypted in the `genchi_files` storage under reports/)
    and the result packages back to the ward (kept for download by the transfer app, with
    their return slips). Counts only on the row; no personal data."""

    uid = models.CharField(max_length=32, default=_new_uid, unique=True, editable=False)
    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    asked_at = models.DateTimeField(_("依頼日時"), default=timezone.now)
    case_count = models.PositiveIntegerField(_("案件数"), default=0)
    report_pdf = models.CharField(_("報告書(PDF)の保存名"), max_length=200, blank=True)
    report_xlsx = models.CharField(_("報告書(XLSX)の保存名"), max_length=200, blank=True)
    # The result packages written: [{"package": pk, "slip": pk, "cases": n, "photos": n}].
    packages = models.JSONField(_("結果パッケージ"), default=list, blank=True)

    job_audit_prefix = "fieldwork.closing"

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("調査の締め")

    def __str__(self) -> str:
        return f"{self.contract_id}#{self.pk}"

"""The contractor's working copy of the cases it received (J3 items only, encrypted, D1)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.vault.fields import EncryptedTextField
from genchi.vault.scopes import CONTRACTOR


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

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy, actor
from genchi.jobs.models import JobRow
from genchi.vault.fields import EncryptedTextField
from genchi.vault.scopes import WARD

# Everything intake keeps is the ward's: encrypted under the ward's key of the contract (D1).
HOLDER = WARD
# Encrypted values are bound to their case by its reference, set before the row is
# inserted (bulk imports encrypt before the database gives ids) and never changed.
ROW = "ref"


def new_case_ref() -> str:
    # Opaque: says nothing about the taxpayer or the ward's own numbering (J3).
    return uuid.uuid4().hex[:16]


class Case(models.Model):
    """One taxpayer at one address in one contract. Personal data is encrypted (D1)."""

    class Status(models.TextChoices):
        IMPORTED = "imported", _("取込済み")
        IN_BATCH = "in_batch", _("バッチ選定済み")
        HANDED_OVER = "handed_over", _("引渡済み")
        RESULT_RECEIVED = "result_received", _("結果受領")
        CLOSED = "closed", _("完了")

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="cases", verbose_name=_("契約")
    )
    ref = models.CharField(_("案件参照番号"), max_length=32, unique=True, default=new_case_ref)
    status = models.CharField(
        _("状態"), max_length=20, choices=Status.choices, default=Status.IMPORTED, db_index=True
    )
    # The four items of J3, as the ward gave them.
    name = EncryptedTextField(_("氏名"), holder=HOLDER, row_field=ROW)
    postal_code = EncryptedTextField(_("郵便番号"), blank=True, holder=HOLDER, row_field=ROW)
    address = EncryptedTextField(_("住所"), holder=HOLDER, row_field=ROW)
    building_line = EncryptedTextField(_("方書"), blank=True, holder=HOLDER, row_field=ROW)
    # Ward-internal: never handed over (J3).
    taxpayer_no = EncryptedTextField(_("宛名番号"), blank=True, holder=HOLDER, row_field=ROW)
    name_kana = EncryptedTextField(_("フリガナ"), blank=True, holder=HOLDER, row_field=ROW)
    ward_notes = EncryptedTextField(
        _("区の内部情報(JSON)"), blank=True, holder=HOLDER, row_field=ROW
    )
    # Address engine output. Prefecture and city stay clear for filtering and area planning.
    pref = models.CharField(_("都道府県"), max_length=8, blank=True, db_index=True)
    city = models.CharField(_("市区町村"), max_length=32, blank=True, db_index=True)
    town = EncryptedTextField(_("町字"), blank=True, holder=HOLDER, row_field=ROW)
    rest = EncryptedTextField(_("番地以下"), blank=True, holder=HOLDER, row_field=ROW)
    lat = EncryptedTextField(_("緯度"), blank=True, holder=HOLDER, row_field=ROW)
    lng = EncryptedTextField(_("経度"), blank=True, holder=HOLDER, row_field=ROW)
    geocode_level = models.PositiveSmallIntegerField(
        _("住所の判定レベル"), default=0, db_index=True
    )
    # Keyed hash of the normalised person+address: duplicate detection without decrypting.
    identity_key = models.CharField(max_length=64, db_index=True)
    # Keyed hashes of the normalised name and of the taxpayer number, for an exact search
    # without decrypting (genchi.intake.search); not personal data in clear (security.md).
    name_key = models.CharField(max_length=64, blank=True, db_index=True)
    taxpayer_key = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    # Where the case came from: the import run and the row number in its file.
    import_run = models.ForeignKey(
        "intake.ImportRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("取込"),
    )
    source_row = models.PositiveIntegerField(_("取込ファイルの行"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("案件")
        # The filter lists read the distinct prefectures and cities of the contracts from
        # this index alone, without visiting the rows.
        indexes = [
            models.Index(fields=["contract", "pref", "city"], name="case_contract_area"),
            # What a batch can still take: counted on every batch page.
            models.Index(fields=["contract", "status"], name="case_contract_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "identity_key"], name="case_unique_person_per_contract"
            )
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def short_ref(self) -> str:
        """The first eight hex digits, as people read them out: 「7741-0012」."""
        return f"{self.ref[:4]}-{self.ref[4:8]}"


# How a batch picks its cases when filled by condition (the `priority` of a batch).
PRIORITIES: dict[str, str] = {
    "amount_desc": _("滞納額の多い順"),
    "tax_year_asc": _("課税年度の古い順"),
    "imported_asc": _("取込の古い順"),
    "postal_asc": _("郵便番号順(地域ごと)"),
}


class Batch(RecordedBy):
    """The cases handed over together (委託バッチ): draft → sealed (frozen) → handed over."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("作成中")
        SEALED = "sealed", _("封緘済み")
        HANDED_OVER = "handed_over", _("引渡済み")

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="batches", verbose_name=_("契約")
    )
    number = models.PositiveIntegerField(_("バッチ番号"))
    title = models.CharField(_("名称"), max_length=200, blank=True)
    status = models.CharField(
        _("状態"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    priority = models.CharField(_("優先順位の基準"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    sealed_by = actor()
    sealed_at = models.DateTimeField(_("封緘日時"), null=True, blank=True)
    cases = models.ManyToManyField(Case, through="BatchItem", related_name="batches")

    class Meta:
        ordering = ["contract", "number"]
        verbose_name = _("委託バッチ")
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="batch_number_per_contract")
        ]

    def __str__(self) -> str:
        return f"{self.contract.code}-B{self.number}"

    @property
    def priority_label(self) -> str:
        return str(PRIORITIES.get(self.priority, self.priority))

    @property
    def label(self) -> str:
        """How people name it: 「第 3 バッチ(6月分)」."""
        text = _("第 %(n)d バッチ") % {"n": self.number}
        return f"{text}({self.title})" if self.title else text


class BatchItem(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="batch_items")
    position = models.PositiveIntegerField(_("順位"))

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "case"], name="batch_item_unique_case"),
            models.UniqueConstraint(
                fields=["batch", "position"], name="batch_item_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.position}"


class ImportRun(RecordedBy, JobRow):
    """One upload of the tax division's list: preview first, then an all-or-nothing commit.

    The uploaded file and the preview report (which quotes row values) are kept only
    encrypted under the ward's key of the contract, so nothing in plaintext reaches the disk.
    From the web, the check and the commit run as jobs on this row (`genchi.jobs`).
    """

    job_audit_prefix = "intake.import"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("受付")
        CHECKING = "checking", _("検査中")
        CHECKED = "checked", _("検査済み")
        REFUSED = "refused", _("取込不可")
        COMMITTING = "committing", _("登録中")
        COMMITTED = "committed", _("登録済み")

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="import_runs",
        verbose_name=_("契約"),
    )
    created_at = models.DateTimeField(_("受付日時"), default=timezone.now)
    channel = models.CharField(_("経路"), max_length=8, default="web")
    filename = models.CharField(_("ファイル名"), max_length=255, blank=True)
    file_format = models.CharField(_("形式"), max_length=8, blank=True)
    file_size = models.PositiveBigIntegerField(_("サイズ"), default=0)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    encoding = models.CharField(_("文字コード"), max_length=16, blank=True)
    encoding_override = models.CharField(_("文字コードの指定"), max_length=16, blank=True)
    sheet_name = models.CharField(_("シート名"), max_length=100, blank=True)
    mapping = models.JSONField(_("列の対応"), default=dict, blank=True)
    payload = models.BinaryField(_("ファイル(暗号化)"), blank=True, default=b"")
    report = models.BinaryField(_("検査結果(暗号化)"), blank=True, default=b"")
    status = models.CharField(
        _("状態"), max_length=16, choices=Status.choices, default=Status.UPLOADED
    )
    message = models.TextField(_("結果"), blank=True)
    # The same outcome as stored message parts (genchi.intake.messages), shown in the
    # reader's language; `message` keeps the words in the language of the run's job for
    # the command line and rows written before the parts were kept.
    message_parts = models.JSONField(_("結果(言語によらない形)"), default=list, blank=True)
    total_rows = models.PositiveIntegerField(_("行数"), default=0)
    good_rows = models.PositiveIntegerField(_("正常"), default=0)
    warning_rows = models.PositiveIntegerField(_("警告"), default=0)
    error_rows = models.PositiveIntegerField(_("エラー"), default=0)
    duplicate_rows = models.PositiveIntegerField(_("重複"), default=0)
    imported_rows = models.PositiveIntegerField(_("登録件数"), default=0)
    error_row_numbers = models.JSONField(_("エラー行"), default=list, blank=True)
    excluded_rows = models.JSONField(_("除外した行"), default=list, blank=True)
    checked_at = models.DateTimeField(_("検査日時"), null=True, blank=True)
    committed_at = models.DateTimeField(_("登録日時"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("対象者一覧の取込")

    def __str__(self) -> str:
        return f"{self.contract.code} #{self.pk} {self.filename}"

    @property
    def message_text(self) -> str:
        """The outcome in the reader's language (the stored words for older rows)."""
        from .messages import render

        return render(self.message_parts) if self.message_parts else self.message

    @property
    def excluded_count(self) -> int:
        return len(self.excluded_rows or [])

    @property
    def can_commit(self) -> bool:
        return self.status == self.Status.CHECKED

    @property
    def can_check(self) -> bool:
        """Uploaded (or its check was interrupted): its kept file can be checked."""
        return self.status == self.Status.UPLOADED and bool(self.payload)

    def job_interrupted_changes(self) -> dict:
        # The worker died: nothing was stored (each storing step is one transaction). A
        # commit goes back to checked, so one click commits again; a check goes back to
        # uploaded, and the kept file is checked again with one click.
        if self.status == self.Status.COMMITTING:
            return _stored_message(
                self.Status.CHECKED,
                gettext_noop(
                    "登録が中断されました(ワーカーの停止など)。何も登録していません。"
                    "もう一度「登録する」を押してください。"
                ),
            )
        return _stored_message(
            self.Status.UPLOADED,
            gettext_noop(
                "検査が中断されました(ワーカーの停止など)。"
                "「もう一度検査する」を押すと、受け付けたファイルをもう一度検査します。"
            ),
        )

    def job_failed_changes(self) -> dict:
        # Nothing was stored: a failed commit leaves the run checked (commit again), a
        # failed check leaves it uploaded (check again), each saying what happened.
        checked = self.status in (self.Status.COMMITTING, self.Status.CHECKED)
        return _stored_message(
            self.Status.CHECKED if checked else self.Status.UPLOADED,
            gettext_noop("処理中にエラーが発生しました。何も登録していません。"),
        )


def _stored_message(status: str, msgid: str) -> dict:
    """A run's new status and its message, as words (for the command line) and as parts."""
    return {"status": status, "message": gettext(msgid), "message_parts": [{"text": msgid}]}


class MappingPreset(RecordedBy):
    """A hand-made column mapping (file header → Genchi field), saved per ward for reuse."""

    organisation = models.ForeignKey(
        "parties.Organisation",
        on_delete=models.CASCADE,
        related_name="intake_presets",
        verbose_name=_("組織"),
    )
    name = models.CharField(_("名称"), max_length=100)
    mapping = models.JSONField(_("列の対応"), default=dict)
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        ordering = ["organisation", "name"]
        verbose_name = _("列の対応の設定")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="intake_preset_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

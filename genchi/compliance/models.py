import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy, RecordedByName
from genchi.jobs.models import JobRow


class ChainCheck(JobRow):
    """One run of the audit log's tamper check (the chain, the anchor file, the checkpoints
    and every slip's printed head), asked from the auditor's page and run by the worker.

    The page shows the last finished check instead of verifying the whole log on every
    view, which grew slower with every entry (issue 13)."""

    asked_at = models.DateTimeField(_("依頼日時"), auto_now_add=True)
    ok = models.BooleanField(_("結果"), null=True)
    entry_count = models.PositiveIntegerField(_("確認した記録の数"), default=0)
    head_hash = models.CharField(_("先頭ハッシュ"), max_length=64, blank=True)
    problems = models.JSONField(_("見つかった問題"), default=list, blank=True)

    job_audit_prefix = "audit.check"

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("改ざん検査")


class Incident(RecordedBy):
    """An incident, a risk of one, or a breach of the special provisions (S19, S20),
    recorded by either side of a contract. No personal data in its text: the cases it
    concerns are named by their reference numbers."""

    class Kind(models.TextChoices):
        LOSS = "loss", _("紛失・盗難")
        LEAK = "leak", _("漏えい")
        WRONG_DELIVERY = "wrong_delivery", _("誤送付・誤交付")
        BREACH = "breach", _("特記事項の違反")
        RISK = "risk", _("事故のおそれ")

    class State(models.TextChoices):
        REPORTED = "reported", _("第一報")
        WRITTEN = "written", _("書面報告済み")
        INSTRUCTED = "instructed", _("区の指示あり")
        CLOSED = "closed", _("完了")

    class Side(models.TextChoices):
        WARD = "ward", _("区")
        CONTRACTOR = "contractor", _("受託事業者")

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    number = models.PositiveIntegerField(_("番号"))
    side = models.CharField(_("記録した側"), max_length=12, choices=Side.choices)
    kind = models.CharField(_("種類"), max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("発生日時"), null=True, blank=True)
    found_at = models.DateTimeField(_("発見日時"))
    found_by = models.CharField(_("発見者"), max_length=100)
    summary = models.TextField(_("概要"), max_length=4000)
    first_actions = models.TextField(_("初動の対応"), max_length=4000, blank=True)
    affected_refs = models.JSONField(_("対象の案件"), default=list, blank=True)
    state = models.CharField(
        _("状態"), max_length=12, choices=State.choices, default=State.REPORTED, db_index=True
    )
    created_at = models.DateTimeField(_("記録日時"), default=timezone.now)
    closed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    # The same incident on both installations: its id travels in the incident package.
    uid = models.UUIDField(_("事故報告ID"), default=uuid.uuid4, unique=True, editable=False)
    # Received from the other side's Genchi (null: recorded here): the version held
    # (the number of the sender's steps it carried) and the sender's own number.
    received_version = models.PositiveIntegerField(_("受け取った版"), null=True, blank=True)
    origin_label = models.CharField(_("相手方の番号"), max_length=80, blank=True)
    received_at = models.DateTimeField(_("最後に受け取った日時"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("事故報告")
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="incident_number")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.contract.code}-{self.number:03d}"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.CLOSED


class IncidentEntry(RecordedByName):
    """One step after the first report: the written report, the ward's instruction, its
    completion, an improvement order (S20), a note, the closing."""

    class Kind(models.TextChoices):
        WRITTEN_REPORT = "written_report", _("書面による報告")
        INSTRUCTION = "instruction", _("区の指示")
        COMPLETION = "completion", _("指示への対応完了")
        IMPROVEMENT_ORDER = "improvement_order", _("改善の指示・公表の判断")
        NOTE = "note", _("経過の記録")
        CLOSING = "closing", _("完了の確認")

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="entries", verbose_name=_("事故報告")
    )
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    text = models.TextField(_("内容"), max_length=8000)
    at = models.DateTimeField(_("日時"), default=timezone.now)
    # A step the other side recorded on its Genchi, received in its incident package.
    received = models.BooleanField(_("相手方から受領"), default=False)

    class Meta:
        ordering = ["incident", "at", "pk"]
        verbose_name = _("事故報告の経過")

    def __str__(self) -> str:
        return f"{self.incident}: {self.get_kind_display()}"


class ChecklistAnswer(RecordedBy):
    """The inspector's answer to one item of the compliance checklist (確認記録票, W-O2)
    that software cannot know (a safe, a locked cabinet, antivirus, a firewall). Answers
    are kept, not overwritten: the latest of an item is the one in force."""

    class Answer(models.TextChoices):
        YES = "yes", _("適合")
        NO = "no", _("不適合")
        NOT_APPLICABLE = "na", _("該当なし")

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    item = models.CharField(_("確認項目"), max_length=16)
    answer = models.CharField(_("確認結果"), max_length=4, choices=Answer.choices)
    note = models.TextField(_("確認の内容・所見"), max_length=2000, blank=True)
    checked_on = models.DateField(_("確認日"))
    by_name = models.CharField(_("確認者"), max_length=150)
    created_at = models.DateTimeField(_("記録日時"), default=timezone.now)

    class Meta:
        ordering = ["contract", "item", "-checked_on", "-pk"]
        verbose_name = _("確認記録票の回答")

    def __str__(self) -> str:
        return f"{self.item}: {self.get_answer_display()}"


class OnSiteAudit(RecordedBy):
    """An on-site audit of the contractor (立入調査, S15–S17): at least one per fiscal
    year (S16), with its findings and the follow-up actions below."""

    contract = models.ForeignKey(
        "parties.Contract", on_delete=models.PROTECT, related_name="+", verbose_name=_("契約")
    )
    audited_on = models.DateField(_("実施日"))
    inspector = models.CharField(_("調査員(区)"), max_length=200)
    place = models.CharField(_("場所"), max_length=200, blank=True)
    findings = models.TextField(_("所見"), max_length=8000)
    created_at = models.DateTimeField(_("記録日時"), default=timezone.now)

    class Meta:
        ordering = ["-audited_on", "-pk"]
        verbose_name = _("立入調査")

    def __str__(self) -> str:
        return f"{self.contract.code} {self.audited_on}"

    @property
    def fiscal_year(self) -> int:
        return fiscal_year_of(self.audited_on)


class AuditAction(RecordedBy):
    """A follow-up action asked after an on-site audit, and its completion."""

    audit = models.ForeignKey(
        OnSiteAudit, on_delete=models.PROTECT, related_name="actions", verbose_name=_("立入調査")
    )
    text = models.TextField(_("改善を求める事項"), max_length=4000)
    due_on = models.DateField(_("期限"), null=True, blank=True)
    completed_on = models.DateField(_("完了日"), null=True, blank=True)
    completion_note = models.TextField(_("完了の内容"), max_length=4000, blank=True)
    created_at = models.DateTimeField(_("記録日時"), default=timezone.now)

    class Meta:
        ordering = ["audit", "pk"]
        verbose_name = _("立入調査後の改善事項")

    def __str__(self) -> str:
        return self.text[:40]


def fiscal_year_of(day) -> int:
    """The Japanese fiscal year (April–March) a date falls in: 2027-03-31 → 2026."""
    return day.year if day.month >= 4 else day.year - 1

"""The planner's records: where each surveyor's day starts and ends (the base), the
area proposals, the campaign settings of a contract and the versions of its plan.

Bases: where each surveyor's day starts and ends, per contract.

A base is the office or the surveyor's home station: the planner measures travel from it
(`genchi.planning` takes it as the surveyor's `lat`/`lng`). It is a place of the
contractor's staff, not of a taxpayer, so it is kept in clear.
"""

import datetime as dt
import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy
from genchi.jobs.models import JobRow
from genchi.vault.fields import EncryptedTextField
from genchi.vault.scopes import CONTRACTOR


class SurveyorBase(RecordedBy):
    """The base of one surveyor on one contract; `person` empty: the office (the default
    base of every surveyor who has none of their own)."""

    class Kind(models.TextChoices):
        OFFICE = "office", _("事務所")
        HOME_STATION = "home_station", _("最寄り駅(自宅)")
        OTHER = "other", _("その他")

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="surveyor_bases",
        verbose_name=_("契約"),
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="surveyor_bases",
        verbose_name=_("調査員"),
    )
    kind = models.CharField(_("種別"), max_length=16, choices=Kind.choices, default=Kind.OFFICE)
    label = models.CharField(_("名称"), max_length=100)
    lat = models.DecimalField(_("緯度"), max_digits=9, decimal_places=6)
    lng = models.DecimalField(_("経度"), max_digits=9, decimal_places=6)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    class Meta:
        ordering = ["contract", "person"]
        verbose_name = _("調査員の拠点")
        constraints = [
            models.UniqueConstraint(fields=["contract", "person"], name="surveyor_base_per_person"),
            models.UniqueConstraint(
                fields=["contract"],
                condition=models.Q(person__isnull=True),
                name="surveyor_base_one_office",
            ),
            models.CheckConstraint(
                condition=models.Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="surveyor_base_coordinates",
            ),
        ]

    def __str__(self) -> str:
        return self.label


# --- Area proposals (C-S2.4): which surveyor takes which case ---------------------------


class AreaProposal(RecordedBy):
    """One run of the area proposal (`genchi.planning.propose_areas`) over a contract's
    received cases. A draft is changed by the manager's moves, then confirmed (the cases
    are assigned through `fieldwork.services.assign_cases`) or replaced by a new run."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("案")
        CONFIRMED = "confirmed", _("確定")
        DISCARDED = "discarded", _("破棄")

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="area_proposals",
        verbose_name=_("契約"),
    )
    status = models.CharField(
        _("状態"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    # The parameters the proposal was made with and the solver's figures (workload per
    # surveyor, trips with their lodging, unassigned cases with the reason): no taxpayer's
    # data, only case references and the lodging point of each trip.
    params = models.JSONField(_("条件"), default=dict)
    summary = models.JSONField(_("結果の概要"), default=dict)
    confirmed_at = models.DateTimeField(_("確定日時"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("確定者"),
    )

    class Meta:
        ordering = ["contract", "-created_at", "-id"]
        verbose_name = _("担当地域の案")

    def __str__(self) -> str:
        return f"{self.contract_id}:{self.pk}"


class AreaProposalCase(models.Model):
    """One case of a proposal: the surveyor the planner proposed and the one it has now
    (after the manager's moves), and its trip (出張) if it is far away."""

    proposal = models.ForeignKey(
        AreaProposal, on_delete=models.CASCADE, related_name="rows", verbose_name=_("案")
    )
    case_ref = models.CharField(_("案件番号"), max_length=32)
    proposed_surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        # The proposal's answer, not an author: a reverse accessor is fine.
        related_name="proposed_area_rows",
        verbose_name=_("提案された調査員"),
    )
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="area_rows",
        verbose_name=_("調査員"),
    )
    trip = models.CharField(_("出張"), max_length=16, blank=True)
    reason = models.CharField(_("割り当てられない理由"), max_length=200, blank=True)

    class Meta:
        ordering = ["proposal", "case_ref"]
        verbose_name = _("担当地域の案の案件")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "case_ref"], name="area_proposal_case_once")
        ]

    def __str__(self) -> str:
        return self.case_ref

    @property
    def moved(self) -> bool:
        return self.surveyor_id != self.proposed_surveyor_id


# --- The campaign and its plan ----------------------------------------------------------


def default_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday to Friday (date.weekday())


class Campaign(RecordedBy):
    """How a contract's survey is planned: the period, the working days and hours, the
    visits a day and their length, how surveyors travel, and the revisit rule (residence
    checks need a revisit at another time: evening or weekend, some days later)."""

    class Travel(models.TextChoices):
        CAR = "car", _("車")
        TRAIN_WALK = "train_walk", _("電車と徒歩")

    contract = models.OneToOneField(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="campaign",
        verbose_name=_("契約"),
    )
    starts_on = models.DateField(_("調査期間(開始)"))
    ends_on = models.DateField(_("調査期間(終了)"))
    weekdays = models.JSONField(_("稼働する曜日"), default=default_weekdays)
    skip_holidays = models.BooleanField(_("祝日は稼働しない"), default=True)
    day_starts_at = models.TimeField(_("始業時刻"), default=dt.time(9, 0))
    day_ends_at = models.TimeField(_("終業時刻"), default=dt.time(19, 0))
    visits_per_day = models.PositiveSmallIntegerField(_("1日の訪問件数(上限)"), default=10)
    visit_minutes = models.PositiveSmallIntegerField(_("1件の訪問時間(分)"), default=20)
    travel = models.CharField(
        _("移動手段"), max_length=16, choices=Travel.choices, default=Travel.CAR
    )
    visits_per_case = models.PositiveSmallIntegerField(_("1件あたりの訪問回数"), default=2)
    gap_days = models.PositiveSmallIntegerField(_("再訪問までの日数(以上)"), default=7)
    other_time = models.BooleanField(_("再訪問は別の時間帯(夕方・休日)"), default=True)
    evening_from = models.TimeField(_("夕方とみなす時刻"), default=dt.time(17, 0))
    expected_revisits = models.DecimalField(
        _("見込みの追加訪問(件あたり)"), max_digits=3, decimal_places=1, default=0.5
    )
    seconds = models.PositiveSmallIntegerField(_("計画の計算時間(秒)"), default=20)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    class Meta:
        verbose_name = _("調査計画の設定")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_period_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract}"


class CampaignPlan(JobRow, RecordedBy):
    """One version of a contract's plan: the instance given to the planner and the plan it
    made (docs/planning.md), kept for the history; `current` marks the one in force.

    A whole-campaign solve is a job on this row; a re-plan (a button, a visit's result)
    is made inline and stored as a new version at once. Day numbers count from
    `first_day` (day 1); stop ids are case references, surveyor ids user ids."""

    class Kind(models.TextChoices):
        SOLVE = "solve", _("計画作成")
        REPLAN = "replan", _("再計画")
        RESULT = "result", _("訪問結果による再計画")

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="campaign_plans",
        verbose_name=_("契約"),
    )
    version = models.PositiveIntegerField(_("版"))
    kind = models.CharField(_("種別"), max_length=8, choices=Kind.choices, default=Kind.SOLVE)
    current = models.BooleanField(_("現在の計画"), default=False)
    first_day = models.DateField(_("1日目の日付"))
    # The instance holds the cases' positions and the plan the trips' lodgings (a case's
    # position): both are kept encrypted like the cases themselves (D1), as JSON text.
    instance_text = EncryptedTextField(
        _("計画の条件"), blank=True, holder=CONTRACTOR, row_field="version"
    )
    plan_text = EncryptedTextField(_("計画"), blank=True, holder=CONTRACTOR, row_field="version")
    # Cases left out of the instance and why: [{"ref": ..., "reason": ...}]
    excluded = models.JSONField(_("対象外の案件"), default=list)
    # The manager's locks: {case_ref: day} (a visit pinned to a day), kept by re-plans.
    locks = models.JSONField(_("固定した訪問"), default=dict)
    note = models.CharField(_("備考"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)

    job_audit_prefix = "planner.plan"

    class Meta:
        ordering = ["contract", "-version"]
        verbose_name = _("調査計画(版)")
        constraints = [
            models.UniqueConstraint(fields=["contract", "version"], name="campaign_plan_version"),
            models.UniqueConstraint(
                fields=["contract"],
                condition=models.Q(current=True),
                name="campaign_plan_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} v{self.version}"

    @property
    def instance(self) -> dict:
        return _loads(self.instance_text) or {}

    @instance.setter
    def instance(self, data: dict) -> None:
        self.instance_text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @property
    def plan(self) -> dict | None:
        return _loads(self.plan_text)

    @plan.setter
    def plan(self, data: dict | None) -> None:
        self.plan_text = (
            "" if data is None else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        )

    def date_of(self, day: int) -> dt.date:
        return self.first_day + dt.timedelta(days=day - 1)

    def day_of(self, date: dt.date) -> int:
        return (date - self.first_day).days + 1


def _loads(text: str) -> dict | None:
    """The stored JSON, or None when there is none or its key was destroyed (erased)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class PendingResult(RecordedBy):
    """A visit's result waiting to be applied to the contract's plan.

    The planner's receiver writes it in the transaction that records the visit (a
    rolled-back visit leaves none) and a background task applies every waiting result of
    the contract at once: one re-plan per surveyor and one new version (docs/planning.md).
    Only the case's opaque reference and the visit's time are kept, no taxpayer's data."""

    contract = models.ForeignKey(
        "parties.Contract",
        on_delete=models.PROTECT,
        related_name="pending_visit_results",
        verbose_name=_("契約"),
    )
    case_ref = models.CharField(_("案件番号"), max_length=32)
    # The case's surveyor when the result was recorded: whose days are planned again if
    # the plan does not say (a case only in the areas of an older plan).
    surveyor_id_hint = models.PositiveIntegerField(_("調査員(記録時)"), null=True, blank=True)
    visited_at = models.DateTimeField(_("訪問日時"))
    needs_revisit = models.BooleanField(_("再訪問が必要"), default=False)
    created_at = models.DateTimeField(_("記録日時"), default=timezone.now)
    applied_at = models.DateTimeField(_("反映日時"), null=True, blank=True)
    # The version it was applied in; empty once applied when there was no plan to apply it to.
    applied_version = models.PositiveIntegerField(_("反映した版"), null=True, blank=True)

    class Meta:
        ordering = ["visited_at", "id"]
        verbose_name = _("反映待ちの訪問結果")
        indexes = [
            models.Index(
                fields=["contract"],
                condition=models.Q(applied_at__isnull=True),
                name="pending_result_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_id}:{self.case_ref}"

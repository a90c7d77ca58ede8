"""Where each surveyor's day starts and ends (the base), per contract.

A base is the office or the surveyor's home station: the planner measures travel from it
(`genchi.planning` takes it as the surveyor's `lat`/`lng`). It is a place of the
contractor's staff, not of a taxpayer, so it is kept in clear.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from genchi.core.models import RecordedBy


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
        related_name="+",
        verbose_name=_("提案された調査員"),
    )
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
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

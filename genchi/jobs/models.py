"""A job's own row: the columns every job shares, as an abstract model.

A feature's model that is worked on by jobs (an import run, a handover) inherits
`JobRow`; the page that polls reads these columns, the job layer (`genchi.jobs.runner`)
writes them. Progress is counts only, never personal data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    NONE = "", _("—")
    QUEUED = "queued", _("順番待ち")
    RUNNING = "running", _("処理中")
    SUCCEEDED = "succeeded", _("完了")
    REFUSED = "refused", _("拒否")
    FAILED = "failed", _("失敗")
    INTERRUPTED = "interrupted", _("中断")


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


def stale_after() -> dt.timedelta:
    """How long a running job may go without a heartbeat before it counts as interrupted."""
    return dt.timedelta(seconds=float(settings.GENCHI_JOB_STALE_AFTER_SECONDS))


class JobRow(models.Model):
    """The columns of a job on its own row.

    Only the job layer writes them, with conditional updates fenced by `job_token` (the
    current attempt): so `save()` of a row that exists leaves them alone unless they are
    named in `update_fields`, and a stale copy in memory cannot overwrite the worker's.
    """

    job_state = models.CharField(
        _("ジョブの状態"), max_length=16, choices=JobState.choices, blank=True, default=""
    )
    job_step = models.CharField(_("ジョブの段階"), max_length=16, blank=True)
    job_done = models.PositiveIntegerField(_("処理済み"), default=0)
    job_total = models.PositiveIntegerField(_("全体"), default=0)
    job_token = models.CharField(_("ジョブの試行ID"), max_length=32, blank=True)
    job_task_id = models.CharField(_("タスクID"), max_length=64, blank=True)
    job_attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    job_requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    job_enqueued_at = models.DateTimeField(_("依頼日時"), null=True, blank=True)
    job_started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    job_heartbeat_at = models.DateTimeField(_("最終応答日時"), null=True, blank=True)
    job_finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    # The language of the person who asked: the job's messages are written in it.
    job_language = models.CharField(_("言語"), max_length=8, blank=True)
    job_outcome = models.CharField(_("結果コード"), max_length=32, blank=True)
    job_message = models.TextField(_("結果の説明"), blank=True)

    # The audit actions of a row's job are "<job_audit_prefix>.failed" and so on.
    job_audit_prefix = "job"

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and not f.name.startswith("job_")
            ]
        super().save(*args, **kwargs)

    # --- what a feature says about its rows (override) --------------------------------

    def job_contract(self) -> Any:
        """The contract the job's audit entries name (None when it has none)."""
        return getattr(self, "contract", None)

    def job_interrupted_changes(self) -> dict[str, Any]:
        """Fields of the row to change when its job is found interrupted."""
        return {}

    def job_failed_changes(self) -> dict[str, Any]:
        """Fields of the row to change when its job fails."""
        return {}

    @classmethod
    def job_cleanup(cls) -> int:
        """Tidy what this model's killed jobs may have left beyond their rows and private
        folders (`genchi worker` calls it as it starts); how many things it tidied."""
        return 0

    # --- read by pages ----------------------------------------------------------------

    @property
    def job_is_stale(self) -> bool:
        """Running, but its worker has not beaten for too long: it died."""
        if self.job_state != JobState.RUNNING:
            return False
        beat = self.job_heartbeat_at or self.job_started_at
        return beat is None or timezone.now() - beat > stale_after()

    @property
    def job_is_active(self) -> bool:
        """Waiting for a worker or under way in a live one."""
        return self.job_state in ACTIVE_STATES and not self.job_is_stale

    @property
    def job_percent(self) -> int:
        if not self.job_total:
            return 0
        return min(100, int(self.job_done * 100 / self.job_total))


class TaskTicket(models.Model):
    """A background task enqueued under a key (`tickets.enqueue_once`), and what became of
    it: queued until its task starts, running until it ends (then deleted), failed when
    it raised. The sweeps (`genchi.jobs.sweeps`) read it to enqueue an overdue item's task
    again, never twice at once, and give up after `GENCHI_TASK_MAX_RETRIES` (kept, for the
    operator). Only the task's path, a key of ids and an exception's type: no data."""

    class State(models.TextChoices):
        QUEUED = "queued", _("順番待ち")
        RUNNING = "running", _("処理中")
        FAILED = "failed", _("失敗(再試行待ち)")
        GAVE_UP = "gave_up", _("再試行を断念")

    task = models.CharField(_("タスク"), max_length=200)
    key = models.CharField(_("キー"), max_length=100)
    state = models.CharField(_("状態"), max_length=8, choices=State.choices)
    # The current attempt: only the task run that claimed it may end it.
    token = models.CharField(max_length=32)
    task_id = models.CharField(_("タスクID"), max_length=64, blank=True)
    retries = models.PositiveSmallIntegerField(_("再試行の回数"), default=0)
    enqueued_at = models.DateTimeField(_("依頼日時"), default=timezone.now)
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    # The sweep leaves it alone until then (the backoff).
    retry_after = models.DateTimeField(_("次の再試行"), null=True, blank=True)
    last_error = models.CharField(_("最後のエラー"), max_length=64, blank=True)
    gave_up_at = models.DateTimeField(_("断念した日時"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "key"], name="jobs_task_ticket_once")
        ]
        verbose_name = _("バックグラウンド処理の依頼")

    def __str__(self) -> str:
        return f"{self.task} {self.key} {self.state}"

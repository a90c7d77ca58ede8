"""How a job ends when its work could not: failed (an exception) or interrupted (its
worker died). Each marks the row, with the feature's own changes, and writes the audit
entry in one transaction; both are fenced by the attempt's token."""

from __future__ import annotations

import logging
import traceback

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record

from .models import JobRow, JobState, stale_after

logger = logging.getLogger("genchi.jobs")


def _label(row: JobRow) -> str:
    return row._meta.label_lower


def mark_failed(row: JobRow, token: str, exc: Exception) -> None:
    """The attempt `token` of `row`'s job failed: mark it, with the feature's changes and
    its audit entry, together."""
    # The traceback's frames help the operator; its message may quote data, so not that.
    logger.error(
        "job %s #%s failed: %s\n%s",
        _label(row),
        row.pk,
        type(exc).__name__,
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    model = type(row)
    with transaction.atomic():
        changed = model.objects.filter(
            pk=row.pk, job_token=token, job_state=JobState.RUNNING
        ).update(
            job_state=JobState.FAILED,
            job_outcome="error",
            job_message=_("処理中にエラーが発生しました。何も保存していません。"),
            job_finished_at=timezone.now(),
            **row.job_failed_changes(),
        )
        if changed:
            record(
                f"{row.job_audit_prefix}.failed",
                obj=row,
                contract=row.job_contract(),
                detail={"id": row.pk, "error": type(exc).__name__, "step": row.job_step},
            )


def interrupt_if_stale(row: JobRow) -> bool:
    """If `row`'s job runs in a worker that stopped beating, mark it interrupted (once,
    logged) with the feature's own changes, and say so. `row` is refreshed."""
    if not row.job_is_stale:
        return False
    cutoff = timezone.now() - stale_after()
    model = type(row)
    changes = row.job_interrupted_changes()
    with transaction.atomic():
        changed = (
            model.objects.filter(pk=row.pk, job_token=row.job_token, job_state=JobState.RUNNING)
            .filter(job_heartbeat_at__lt=cutoff)
            .update(
                job_state=JobState.INTERRUPTED,
                job_outcome="interrupted",
                job_message=_(
                    "処理が中断されました(ワーカーの停止など)。途中までの内容は何も保存していません。"
                ),
                **changes,
            )
        )
        if changed:
            record(
                f"{row.job_audit_prefix}.interrupted",
                obj=row,
                contract=row.job_contract(),
                detail={"id": row.pk, "step": row.job_step, "attempts": row.job_attempts},
            )
    row.refresh_from_db()
    return bool(changed)

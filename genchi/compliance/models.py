from django.db import models
from django.utils.translation import gettext_lazy as _

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

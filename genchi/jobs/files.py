"""A job's private folder under the data folder, for what waits for the worker.

An upload a job works on (e.g. a package to import, still the ciphertext it arrived as)
waits in `<data>/jobs/<model>-<pk>/`, readable by this installation's user only. The job
removes it when it ends, whatever the outcome; `sweep()` (run by `genchi worker` as it
starts) removes what an abandoned job left: folders of rows that ended, of rows gone
(once the folder is an hour old: its row may not be committed yet), and of rows interrupted longer ago than `GENCHI_JOB_ABANDON_AFTER_SECONDS`; and each job
model tidies what else its killed jobs may leave (`JobRow.job_cleanup`).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils import timezone

from .models import JobRow, JobState

logger = logging.getLogger("genchi.jobs")

KEPT_STATES = (JobState.QUEUED, JobState.RUNNING, JobState.INTERRUPTED)


def jobs_root() -> Path:
    return Path(settings.DATA_DIR) / "jobs"


def _name(row: JobRow) -> str:
    return f"{row._meta.label_lower}-{row.pk}"


def private_folder(row: JobRow, *, create: bool = False) -> Path:
    folder = jobs_root() / _name(row)
    if create:
        jobs_root().mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(exist_ok=True, mode=0o700)
    return folder


def remove_private_folder(row: JobRow) -> None:
    shutil.rmtree(private_folder(row), ignore_errors=True)


def _job_models() -> dict[str, type[JobRow]]:
    return {m._meta.label_lower: m for m in apps.get_models() if issubclass(m, JobRow)}


def _abandoned(row: JobRow) -> bool:
    if row.job_state not in KEPT_STATES:
        return True
    if row.job_state != JobState.INTERRUPTED:
        return False
    since = row.job_heartbeat_at or row.job_enqueued_at
    limit = dt.timedelta(seconds=float(settings.GENCHI_JOB_ABANDON_AFTER_SECONDS))
    return since is None or timezone.now() - since > limit


# A folder whose row this process cannot see may belong to a transaction still under
# way (a request on this host or another is writing the upload): only older ones are
# taken for leftovers of a rolled-back request.
UNSEEN_ROW_GRACE_SECONDS = 60 * 60


def _young(folder: Path) -> bool:
    try:
        return time.time() - folder.stat().st_mtime < UNSEEN_ROW_GRACE_SECONDS
    except OSError:
        return False


def sweep() -> int:
    """Remove the private folders of jobs that ended or were abandoned; how many."""
    root = jobs_root()
    models = _job_models()
    removed = 0
    for folder in root.iterdir() if root.is_dir() else ():
        label, _sep, pk = folder.name.rpartition("-")
        model = models.get(label)
        row = model.objects.filter(pk=int(pk)).first() if model and pk.isdigit() else None
        if row is None and model is not None and _young(folder):
            continue
        if row is None or _abandoned(row):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %d folder(s) left by ended or abandoned jobs", removed)
    return removed + sum(model.job_cleanup() for model in models.values())

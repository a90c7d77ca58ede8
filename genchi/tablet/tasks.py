"""The tablet's background work: recording a visit whose every part has come up, and the
worker's sweep that records again a visit whose task failed or was lost."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from genchi.jobs import tickets


def key_of(upload_id: int) -> str:
    """The key of an upload's settling task (its ticket in the jobs layer)."""
    return f"upload:{upload_id}"


@task()
def settle_upload(upload_id: int, ip: str) -> None:
    """Record the visit (or refuse it by the conflict rules, logged); nothing to do when
    it was settled already (a task run twice: `settle` locks the upload and checks)."""
    from .models import Upload
    from .uploads import settle

    with tickets.running(settle_upload, key_of(upload_id)):
        upload = Upload.objects.filter(pk=upload_id).select_related("device").first()
        if upload is not None and upload.state == Upload.State.RECEIVED:
            settle(upload, ip=ip)


# Uploads looked at per round: the rest wait for the next one.
SWEEP_BATCH = 200


def sweep_received() -> int:
    """Visits received (every part on the server) longer than the grace period ago and
    still not recorded: their settling task failed or was lost, so it is enqueued again
    (`tickets.retry`: never while one is queued or running, bounded, with backoff). The
    device's address is not known any more: the entries name none. Returns how many
    were enqueued again."""
    from .models import Upload

    cutoff = timezone.now() - tickets.grace()
    given_up = tickets.given_up_keys(settle_upload)
    stuck = (
        Upload.objects.filter(state=Upload.State.RECEIVED)
        .filter(Q(completed_at__lt=cutoff) | Q(completed_at__isnull=True, received_at__lt=cutoff))
        .order_by("pk")
        .values_list("pk", "device__contract__code")
    )
    todo = [(pk, code) for pk, code in stuck if key_of(pk) not in given_up]
    queued = 0
    for pk, code in todo[:SWEEP_BATCH]:
        done = tickets.retry(settle_upload, pk, "", key=key_of(pk), contract=code)
        queued += done == tickets.QUEUED
    return queued

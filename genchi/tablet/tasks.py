"""The tablet's background work: recording a visit whose every part has come up."""

from __future__ import annotations

from django_tasks import task


@task()
def settle_upload(upload_id: int, ip: str) -> None:
    """Record the visit (or refuse it by the conflict rules, logged); nothing to do when
    it was settled already (a task run twice)."""
    from .models import Upload
    from .uploads import settle

    upload = Upload.objects.filter(pk=upload_id).select_related("device").first()
    if upload is not None and upload.state == Upload.State.RECEIVED:
        settle(upload, ip=ip)

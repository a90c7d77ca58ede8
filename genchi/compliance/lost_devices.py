"""A lost or stolen tablet, in one office action (C-S2.7, S19): the tablet is revoked, the
cases that were on it are recorded and the first report of an incident is opened.

It lives here, above the tablet app: compliance calls the tablet's services and reads its
selectors; the tablet knows nothing of incidents.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.tablet import selectors as tablet_selectors
from genchi.tablet import services as tablet_services

from . import incidents
from .models import Incident


@transaction.atomic
def report_lost_device(device, *, by, found_by: str, summary: str) -> Incident:
    """Revoke `device` (it wipes itself at its next contact), record the cases that were
    on it (those of its last sync, with the visits it had sent) and open an incident
    report. All or nothing; returns the incident."""
    summary = summary.strip()
    if not summary:
        raise ValidationError(
            {"summary": _("いつ、どこで、どのように紛失したかを書いてください。")}
        )
    refs = tablet_selectors.held_case_refs(device)
    waiting = tablet_selectors.waiting_upload_count(device)
    tablet_services.revoke(device, by=by, reason=_("紛失・盗難"))
    device.refresh_from_db()
    incident = incidents.record_incident(
        by,
        device.contract,
        kind=Incident.Kind.LOSS,
        found_at=timezone.now(),
        found_by=found_by or str(by),
        summary=summary,
        first_actions=_(
            "調査用タブレット「%(label)s」(%(surveyor)s)を失効させました。次に接続したときに"
            "端末のデータは消去されます。端末の中のデータは暗号化されており、利用期限"
            "(%(until)s)を過ぎると暗証番号だけでは開けません。端末にあった案件: %(n)d 件。"
        )
        % {
            "label": device.label or device.key_fingerprint[:12],
            "surveyor": device.surveyor,
            "until": timezone.localtime(device.lease_until).strftime("%Y-%m-%d %H:%M")
            if device.lease_until
            else "—",
            "n": len(refs),
        },
        affected_refs=refs[: incidents.MAX_REFS],
    )
    record(
        "tablet.lost_reported",
        obj=device,
        contract=device.contract,
        detail={
            "incident": incident.pk,
            "refs": refs,
            "count": len(refs),
            "visits_discarded": waiting,
            "last_sync": device.last_sync_at.isoformat() if device.last_sync_at else None,
        },
    )
    return incident

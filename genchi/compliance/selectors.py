"""Reads of the audit log, scoped to what the reader's organisation may audit."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from genchi.audit.models import AuditEntry
from genchi.jobs.models import ACTIVE_STATES
from genchi.jobs.outcomes import interrupt_if_stale
from genchi.parties.selectors import contracts_for

from .models import ChainCheck

AUTH_USER_LABEL = settings.AUTH_USER_MODEL.lower()


def entries_for(user) -> QuerySet[AuditEntry]:
    """Entries an auditor of `user`'s organisation may read: those about its contracts,
    and those about no contract that concern the organisation itself (done by its people,
    or done to it or to one of its people, e.g. by an operator at the command line).

    Entries of another organisation's contracts never show, even when a contractor serving
    both did them; installation-wide entries that name no organisation of theirs do not
    show either.
    """
    own = user.organisation
    codes = list(contracts_for(user).values_list("code", flat=True))
    people = [
        str(pk)
        for pk in get_user_model().objects.filter(organisation=own).values_list("pk", flat=True)
    ]
    about_no_contract = Q(contract_code="") & (
        Q(actor_organisation=own.code)
        | Q(object_type="parties.organisation", object_id=str(own.pk))
        | Q(object_type=AUTH_USER_LABEL, object_id__in=people)
    )
    return AuditEntry.objects.filter(Q(contract_code__in=codes) | about_no_contract)


def people_seen_by(user) -> QuerySet:
    """The people whose entries an auditor may see: their organisation's and those of the
    contractors of its contracts, for the filter by person."""
    contractors = contracts_for(user).values("contractor_id")
    return (
        get_user_model()
        .objects.filter(Q(organisation=user.organisation) | Q(organisation__in=contractors))
        .order_by("organisation__name", "full_name", "username")
    )


def filtered(
    user,
    *,
    actor: int | None = None,
    contract: str = "",
    action: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    qs = entries_for(user)
    if actor:
        qs = qs.filter(actor_id=actor)
    if contract:
        qs = qs.filter(contract_code=contract)
    if action:
        qs = qs.filter(action=action)
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=tz))
    if until:
        qs = qs.filter(
            at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    return qs.order_by("-seq")


def chain_check_status() -> dict:
    """What the page says about the tamper check: the last finished one, one under way,
    and how many entries were written since the last one looked."""
    last = ChainCheck.objects.filter(ok__isnull=False).first()
    active = ChainCheck.objects.filter(job_state__in=ACTIVE_STATES).first()
    if active is not None and (interrupt_if_stale(active) or not active.job_is_active):
        active = None
    newer = AuditEntry.objects.filter(seq__gt=last.entry_count).count() if last else None
    return {"last_check": last, "active_check": active, "entries_since_check": newer}

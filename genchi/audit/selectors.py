"""Reads of the audit log, scoped to what the reader's ward may audit."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from genchi.access.scope import contracts_for

from .models import AuditEntry


def entries_for(user) -> QuerySet[AuditEntry]:
    """Entries about the ward's contracts, or written by people of the ward or its contractors.

    Entries with no organisation (operators at the command line of this installation,
    failed sign-ins of unknown names) are included: they are part of what an auditor checks.
    """
    contracts = contracts_for(user)
    codes = list(contracts.values_list("code", flat=True))
    orgs = {"", user.organisation.code} | set(contracts.values_list("contractor__code", flat=True))
    return AuditEntry.objects.filter(Q(contract_code__in=codes) | Q(actor_organisation__in=orgs))


def filtered(
    user,
    *,
    actor: str = "",
    contract: str = "",
    action: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    qs = entries_for(user)
    if actor:
        qs = qs.filter(actor__icontains=actor)
    if contract:
        qs = qs.filter(contract_code=contract)
    if action:
        qs = qs.filter(action__startswith=action)
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=tz))
    if until:
        qs = qs.filter(
            at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        )
    return qs.order_by("-seq")

"""Reads about parties that other apps need (services write; selectors read)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Contract, Organisation


def contractors_of(ward: Organisation) -> QuerySet[Organisation]:
    """The contractors holding a contract with `ward` that is not closed."""
    open_contracts = Contract.objects.filter(ward=ward).exclude(status=Contract.Status.CLOSED)
    return Organisation.objects.filter(
        kind=Organisation.Kind.CONTRACTOR, pk__in=open_contracts.values("contractor")
    ).order_by("name")

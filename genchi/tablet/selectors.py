"""Reads for the office's tablet pages: the manager sees the devices of the contracts
they are designated on as manager (取扱責任者), nothing else."""

from __future__ import annotations

from django.db.models import QuerySet

from genchi.parties.models import Contract, Designation
from genchi.parties.selectors import active_designations, designated_surveyors

from .models import TabletDevice


def managed_contracts(user) -> QuerySet[Contract]:
    if not user.is_authenticated or user.role != "manager":
        return Contract.objects.none()
    designated = active_designations(user).filter(role=Designation.Role.MANAGER)
    return Contract.objects.filter(
        contractor_id=user.organisation_id, pk__in=designated.values("contract_id")
    ).order_by("code")


def devices_for(user) -> QuerySet[TabletDevice]:
    return (
        TabletDevice.objects.filter(contract__in=managed_contracts(user))
        .select_related("contract", "surveyor", "by", "revoked_by")
        .order_by("revoked_at", "-enrolled_at")
    )


def surveyor_choices(user) -> list[tuple[Contract, list]]:
    """Each managed contract with the surveyors designated on it now."""
    return [(c, list(designated_surveyors(c))) for c in managed_contracts(user)]


def contract_devices(contract: Contract) -> QuerySet[TabletDevice]:
    """Every tablet ever enrolled for the contract, with its revocation and wipe order."""
    return (
        TabletDevice.objects.filter(contract=contract)
        .select_related("surveyor")
        .order_by("enrolled_at", "pk")
    )

"""Reads for the office's tablet pages: the manager sees the devices of the contracts
they are designated on as manager (取扱責任者), nothing else."""

from __future__ import annotations

from django.db.models import QuerySet

from genchi.parties.models import Contract, Designation
from genchi.parties.selectors import active_designations, designated_surveyors

from .models import HeldCase, TabletDevice, Upload


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
    """Each managed contract in force with the surveyors designated on it now (a closed
    or erased contract enrols no tablet)."""
    return [
        (c, list(designated_surveyors(c)))
        for c in managed_contracts(user).filter(status=Contract.Status.ACTIVE)
    ]


def wipe_state(contract: Contract) -> list[dict]:
    """Every tablet of `contract` with whether it has been told to wipe (at its last
    contact after it was revoked): what an erasure certificate lists, wiped or pending."""
    return [
        {
            "device": device.key_fingerprint[:12],
            "label": device.label,
            "surveyor": str(device.surveyor),
            "revoked_at": device.revoked_at.isoformat() if device.revoked_at else "",
            "wiped_at": device.wiped_at.isoformat() if device.wiped_at else "",
        }
        for device in contract_devices(contract)
    ]


def contract_devices(contract: Contract) -> QuerySet[TabletDevice]:
    """Every tablet ever enrolled for the contract, with its revocation and wipe order."""
    return (
        TabletDevice.objects.filter(contract=contract)
        .select_related("surveyor")
        .order_by("enrolled_at", "pk")
    )


def held_case_refs(device: TabletDevice) -> list[str]:
    """The references of the cases the device held at its last sync, sorted."""
    return sorted(HeldCase.objects.filter(device=device).values_list("case_ref", flat=True))


def waiting_upload_count(device: TabletDevice) -> int:
    """Visits the device began to send whose photos never all arrived."""
    return Upload.objects.filter(device=device, state=Upload.State.WAITING).count()

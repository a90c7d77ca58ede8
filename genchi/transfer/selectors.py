"""Scoped reads of handover records (D2): each organisation sees only what it holds."""

from __future__ import annotations

from django.db.models import QuerySet

from genchi.access.scope import contracts_for
from genchi.accounts.models import WARD_ROLES
from genchi.intake.models import Batch

from .models import HandoverSlip, OrganisationKeyPair, Package, PartnerKeyCard, UsbStick


def packages_for(user) -> QuerySet[Package]:
    if not user.is_authenticated or user.organisation_id is None:
        return Package.objects.none()
    return (
        Package.objects.filter(holder_id=user.organisation_id, contract__in=contracts_for(user))
        .select_related("contract", "sender", "recipient", "stick", "slip", "by")
        .order_by("-at")
    )


def slips_for(user) -> QuerySet[HandoverSlip]:
    if not user.is_authenticated or user.organisation_id is None:
        return HandoverSlip.objects.none()
    return HandoverSlip.objects.filter(
        holder_id=user.organisation_id, contract__in=contracts_for(user)
    ).select_related("package", "contract", "confirmed_by", "issued_by", "received_by")


def exportable_batches(user) -> QuerySet[Batch]:
    """Sealed batches of the ward's contracts (metadata only)."""
    if user.role not in WARD_ROLES:
        return Batch.objects.none()
    return (
        Batch.objects.filter(contract__in=contracts_for(user), status=Batch.Status.SEALED)
        .select_related("contract")
        .order_by("contract__code", "number")
    )


def sticks_for(user) -> QuerySet[UsbStick]:
    if user.role not in WARD_ROLES or user.organisation_id is None:
        return UsbStick.objects.none()
    return UsbStick.objects.filter(owner_id=user.organisation_id).order_by("label")


def _sticks_in_service(user) -> QuerySet[UsbStick]:
    return sticks_for(user).exclude(status=UsbStick.Status.RETIRED)


def writable_sticks(user) -> QuerySet[UsbStick]:
    """The ward's sticks a package may be written to now: in service and wiped since the
    last handover (the export service checks again, under a lock)."""
    return _sticks_in_service(user).filter(needs_wipe=False)


def sticks_awaiting_wipe(user) -> QuerySet[UsbStick]:
    return _sticks_in_service(user).filter(needs_wipe=True)


def own_key_pair(user) -> OrganisationKeyPair | None:
    if user.organisation_id is None:
        return None
    return OrganisationKeyPair.objects.filter(
        organisation_id=user.organisation_id, retired_at__isnull=True
    ).first()


def partner_cards_for(user) -> QuerySet[PartnerKeyCard]:
    if user.organisation_id is None:
        return PartnerKeyCard.objects.none()
    return PartnerKeyCard.objects.filter(holder_id=user.organisation_id).select_related(
        "subject", "imported_by"
    )

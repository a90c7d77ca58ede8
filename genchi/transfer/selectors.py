"""Scoped reads of handover records (D2): each organisation sees only what it holds."""

from __future__ import annotations

from django.db.models import QuerySet

from genchi.access.roles import SIDE_ROLES, WARD_READERS, has_role
from genchi.parties.models import Contract
from genchi.parties.selectors import contracts_for, office_contracts_for

from . import handlers
from .models import (
    ContractRecipientKey,
    HandoverJob,
    HandoverSlip,
    OrganisationKeyPair,
    Package,
    PartnerContractCard,
    PartnerKeyCard,
    StickEvent,
    StickLoan,
    UsbStick,
)


def packages_for(user) -> QuerySet[Package]:
    if not user.is_authenticated or user.organisation_id is None:
        return Package.objects.none()
    return (
        Package.objects.filter(
            holder_id=user.organisation_id, contract__in=office_contracts_for(user)
        )
        .select_related("contract", "sender", "recipient", "stick", "slip", "by")
        .order_by("-at")
    )


def slips_for(user) -> QuerySet[HandoverSlip]:
    if not user.is_authenticated or user.organisation_id is None:
        return HandoverSlip.objects.none()
    return HandoverSlip.objects.filter(
        holder_id=user.organisation_id, contract__in=office_contracts_for(user)
    ).select_related("package", "contract", "confirmed_by", "by", "received_by")


def handover_jobs_for(user) -> QuerySet[HandoverJob]:
    """Exports and imports asked by this person's organisation (by whoever in it)."""
    if not user.is_authenticated or user.organisation_id is None:
        return HandoverJob.objects.none()
    return HandoverJob.objects.filter(organisation_id=user.organisation_id).select_related(
        "stick", "contract", "job_requested_by"
    )


def sendable_for(user, kind: str = "cases") -> list[handlers.Sendable]:
    """What this person's side may send now as a `kind` package (metadata only): for
    `cases`, the sealed batches of the ward's contracts."""
    source = handlers.source_for(kind)
    if source is None:
        return []
    # A kind both sides send ("either"): each item names its side; a person sees those
    # of their own side.
    sides = {side for side, roles in SIDE_ROLES.items() if has_role(user, roles)}
    if source.side != "either" and source.side not in sides:
        return []
    items = source.sendable(office_contracts_for(user))
    return [item for item in items if (item.side or source.side) in sides]


def sticks_for(user) -> QuerySet[UsbStick]:
    if not has_role(user, WARD_READERS) or user.organisation_id is None:
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
        "subject", "by"
    )


def contract_recipient_keys_for(user) -> list[tuple[Contract, ContractRecipientKey | None]]:
    """The contracts this person sees, each with its organisation's recipient key of it
    (None until made)."""
    if user.organisation_id is None:
        return []
    contracts = contracts_for(user).select_related("ward", "contractor").order_by("code")
    own = {
        row.contract_id: row
        for row in ContractRecipientKey.objects.filter(
            organisation_id=user.organisation_id, contract__in=contracts
        )
    }
    return [(contract, own.get(contract.pk)) for contract in contracts]


def partner_contract_cards_for(user) -> QuerySet[PartnerContractCard]:
    if user.organisation_id is None:
        return PartnerContractCard.objects.none()
    return PartnerContractCard.objects.filter(
        holder_id=user.organisation_id, contract__in=contracts_for(user)
    ).select_related("contract", "subject", "by")


def sent_cases_package(contract, package_id) -> Package | None:
    """The cases package of `contract` that this installation's ward side wrote with this
    id (what a results package answers), or None."""
    return (
        Package.objects.filter(
            contract=contract,
            holder=contract.ward,
            direction=Package.Direction.OUTGOING,
            kind=Package.Kind.CASES,
            package_id=package_id,
        )
        .only("pk", "package_id", "batch_code", "contract_id", "record_count")
        .first()
    )


def sent_cases_package_elsewhere(contract, package_id) -> bool:
    """Whether this ward wrote a cases package with this id for another contract."""
    return (
        Package.objects.filter(
            holder=contract.ward,
            direction=Package.Direction.OUTGOING,
            kind=Package.Kind.CASES,
            package_id=package_id,
        )
        .exclude(contract=contract)
        .exists()
    )


def contract_packages(contract, holder, *, direction: str, kind: str) -> list[dict]:
    """The packages of `contract` that `holder` recorded in one direction and of one kind,
    oldest first, as plain values (id, batch, count, answers): what an erasure certificate
    names, and what the ward compares it with. No personal data."""
    rows = Package.objects.filter(
        contract=contract, holder=holder, direction=direction, kind=kind
    ).order_by("at", "pk")
    return [
        {
            "package_id": str(p.package_id),
            "batch": p.batch_code,
            "records": p.record_count,
            "photos": p.photo_count,
            "answers": str(p.answers) if p.answers else "",
        }
        for p in rows
    ]


def stick_loans_of(contract: Contract) -> list[dict]:
    """The ledger's lendings of the contract's packages (W-O5, W-O6, C-O6): each with its
    stick, when it was lent and returned, and the first wipe after the return."""
    loans = list(
        StickLoan.objects.filter(package__contract=contract)
        .select_related("stick", "package")
        .order_by("lent_at", "pk")
    )
    wipes: dict[int, list] = {}
    for event in StickEvent.objects.filter(
        stick__in={loan.stick_id for loan in loans}, kind=StickEvent.Kind.WIPED, result_ok=True
    ).order_by("at"):
        wipes.setdefault(event.stick_id, []).append(event.at)
    out = []
    for loan in loans:
        after = loan.returned_at
        wiped = next((at for at in wipes.get(loan.stick_id, []) if after and at >= after), None)
        out.append(
            {
                "loan": loan,
                "stick": loan.stick.label,
                "lent_at": loan.lent_at,
                "returned_at": loan.returned_at,
                "wiped_at": wiped,
                "borrower": loan.borrower_name,
            }
        )
    return out


def packages_held(contract: Contract, holder_id: int) -> QuerySet[Package]:
    """The packages of a contract one side holds, oldest first, with their slips."""
    return (
        Package.objects.filter(contract=contract, holder_id=holder_id)
        .select_related("slip", "sender", "recipient", "stick", "by")
        .order_by("at", "pk")
    )

"""Reads about contracts and the people designated on them (services write; selectors read).

This is the one door to contracts and so to their personal data (D2): every query that
can reach personal data starts from `contracts_for`, scoped by the person's organisation,
role and designation. Views never build such querysets themselves.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import CONTRACTOR_OFFICE, CONTRACTOR_ROLES, WARD_ROLES, has_role

from .models import Contract, Designation, Organisation


def active_designations(user) -> QuerySet[Designation]:
    """The designations in force at this moment (an ended one is over at once)."""
    return Designation.objects.filter(
        person=user, starts_on__lte=timezone.localdate(), ended_at__isnull=True
    )


def contracts_for(user) -> QuerySet[Contract]:
    """Contracts this person may see anything of."""
    if not user.is_authenticated or user.organisation_id is None or not user.role:
        return Contract.objects.none()
    if user.role in WARD_ROLES:
        return Contract.objects.filter(ward_id=user.organisation_id)
    if user.role in CONTRACTOR_ROLES:
        designated = active_designations(user).values("contract_id")
        return Contract.objects.filter(contractor_id=user.organisation_id, pk__in=designated)
    return Contract.objects.none()


def contract_for(user, code: str) -> Contract:
    """One contract by code, or PermissionDenied — the same answer whether it exists or not."""
    contract = contracts_for(user).filter(code=code).select_related("ward", "contractor").first()
    if contract is None:
        raise PermissionDenied(_("この契約を表示する権限がありません。"))
    return contract


OFFICE_DESIGNATIONS = frozenset({Designation.Role.MANAGER, Designation.Role.HANDLER})


def office_contracts_for(user) -> QuerySet[Contract]:
    """Contracts on which this person may do its side's office work: the ward's contracts
    for ward people; for a contractor person, those they are designated on as manager or
    handler *and* whose role is an office role. Access is the intersection of role and
    designation: a handler designated only as a surveyor does no office work on it."""
    if has_role(user, WARD_ROLES):
        return contracts_for(user)
    if not has_role(user, CONTRACTOR_OFFICE):
        return Contract.objects.none()
    designated = active_designations(user).filter(role__in=OFFICE_DESIGNATIONS)
    return Contract.objects.filter(
        contractor_id=user.organisation_id, pk__in=designated.values("contract_id")
    )


def does_office_work_on(user, contract: Contract) -> bool:
    """A contractor person may do office work on a contract (receive, read cases, send
    results) only while designated on it as manager or handler and holding an office role
    (C-O1, S13); an undesignated colleague of the same company may not."""
    if not has_role(user, CONTRACTOR_ROLES):
        return False
    return office_contracts_for(user).filter(pk=contract.pk).exists()


def contractors_of(ward: Organisation) -> QuerySet[Organisation]:
    """The contractors holding a contract with `ward` that is not closed."""
    open_contracts = Contract.objects.filter(ward=ward).exclude(status=Contract.Status.CLOSED)
    return Organisation.objects.filter(
        kind=Organisation.Kind.CONTRACTOR, pk__in=open_contracts.values("contractor")
    ).order_by("name")

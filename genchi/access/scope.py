"""The one door to contracts and their personal data (D2).

Every query that can reach personal data starts here, scoped by the person's
organisation, role and designation. Views never build such querysets themselves.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.parties.models import Contract, Designation

from .roles import CONTRACTOR_ROLES, ORGANISATION_ADMINS, WARD_ROLES, has_role


def active_designations(user) -> QuerySet[Designation]:
    today = timezone.localdate()
    return Designation.objects.filter(person=user, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today)
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


def designated_role(user, contract: Contract) -> str | None:
    """The contractor person's role on this contract today (None for ward people)."""
    row = active_designations(user).filter(contract=contract).order_by("role").first()
    return row.role if row else None


OFFICE_DESIGNATIONS = frozenset({Designation.Role.MANAGER, Designation.Role.HANDLER})


def does_office_work_on(user, contract: Contract) -> bool:
    """A contractor person may do office work on a contract (receive, read cases, send
    results) only while designated on it as manager or handler (C-O1, S13); an
    undesignated colleague of the same company may not."""
    if not has_role(user, CONTRACTOR_ROLES):
        return False
    if user.organisation_id != contract.contractor_id:
        return False
    return designated_role(user, contract) in OFFICE_DESIGNATIONS


def can_manage_people(user) -> bool:
    return has_role(user, ORGANISATION_ADMINS)


def people_for(user):
    """People this person may administer: their own organisation's."""
    from genchi.accounts.models import User

    if not can_manage_people(user):
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id)

"""Who may do what: the named sets of roles, each defined once (D2).

Views name these sets in `@policy(...)`; services check them again before a write (the
command line and later callers do not pass through a view); templates get their flags
from the policy of the action they post to (`policy.permits`). A rule changed here is
changed everywhere. Rules that depend on a contract — a contractor person's designation
on it — live beside the contracts, in `parties.selectors`.

`WARD_ROLES` and `CONTRACTOR_ROLES` (which side of the contract a role belongs to) are
defined with the roles themselves in `core.roles` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection

from genchi.core.roles import CONTRACTOR_ROLES, WARD_ROLES, Role

ALL_ROLES = frozenset(Role)

# --- the ward -----------------------------------------------------------------------------
WARD_READERS = WARD_ROLES
"""Everyone at the ward: staff, the administrator and the auditor (who only reads)."""

WARD_WRITERS = frozenset({Role.WARD_STAFF, Role.WARD_ADMIN})
"""The ward's people who change things: intake, batches, sending packages, the USB ledger."""

WARD_ADMINS = frozenset({Role.WARD_ADMIN})
"""Organisations and contracts."""

AUDIT_READERS = frozenset({Role.WARD_AUDITOR, Role.WARD_ADMIN})
"""The audit log and its tamper check."""

# --- the contractor -----------------------------------------------------------------------
CONTRACTOR_OFFICE = frozenset({Role.MANAGER, Role.HANDLER})
"""The contractor's office: receives packages, reads cases, sends results (C-O1, S13);
on a contract only while designated on it (`parties.selectors.does_office_work_on`)."""

CONTRACTOR_ADMINS = frozenset({Role.MANAGER})
"""The contractor's handling manager (取扱責任者): its people's training, pledges, photos
and ID cards (S18, C-O3)."""

CARD_CHECKERS = WARD_READERS | CONTRACTOR_OFFICE
"""Who may open the check page a surveyor's ID card points to (each side its own cards)."""

# --- both sides ---------------------------------------------------------------------------
ORGANISATION_ADMINS = frozenset({Role.WARD_ADMIN, Role.MANAGER})
"""Each organisation's administrator: its people, designations, key pair and partner cards."""

HANDOVER_READERS = WARD_READERS | CONTRACTOR_OFFICE
"""Who sees packages and handover slips (each side its own)."""

HANDOVER_WRITERS = WARD_WRITERS | CONTRACTOR_OFFICE
"""Who records a handover on a slip (received, confirmed against the paper)."""

SIDE_ROLES: dict[str, frozenset[str]] = {"ward": WARD_ROLES, "contractor": CONTRACTOR_ROLES}
"""Everyone on a side of the handover, by side."""

SIDE_OFFICE: dict[str, frozenset[str]] = {"ward": WARD_WRITERS, "contractor": CONTRACTOR_OFFICE}
"""Who sends and receives packages for a side."""

ASSIGNABLE_ROLES: dict[str, frozenset[str]] = {
    Role.WARD_ADMIN: WARD_ROLES,
    Role.MANAGER: frozenset({Role.HANDLER, Role.SURVEYOR}),
}
"""The roles an administrator may give the people of their organisation."""


def has_role(user, roles: Collection[str]) -> bool:
    """Whether a signed-in person's role is one of `roles`."""
    return bool(getattr(user, "is_authenticated", False) and user.role in roles)


def assignable_roles(user) -> frozenset[str]:
    return ASSIGNABLE_ROLES.get(getattr(user, "role", ""), frozenset())


__all__ = [
    "ALL_ROLES",
    "ASSIGNABLE_ROLES",
    "AUDIT_READERS",
    "CARD_CHECKERS",
    "CONTRACTOR_ADMINS",
    "CONTRACTOR_OFFICE",
    "CONTRACTOR_ROLES",
    "HANDOVER_READERS",
    "HANDOVER_WRITERS",
    "ORGANISATION_ADMINS",
    "SIDE_OFFICE",
    "SIDE_ROLES",
    "WARD_ADMINS",
    "WARD_READERS",
    "WARD_ROLES",
    "WARD_WRITERS",
    "Role",
    "assignable_roles",
    "has_role",
]

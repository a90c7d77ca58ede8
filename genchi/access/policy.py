"""Every view declares who may call it; the policy middleware enforces it (D2).

A view without a declared policy is refused, and the URL-policy test fails, so a new
page can never be reachable by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from genchi.accounts.models import CONTRACTOR_ROLES, WARD_ROLES, Role

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Policy:
    roles: frozenset[str] = field(default_factory=frozenset)
    public: bool = False  # reachable without signing in (sign-in page, static health)
    needs_second_factor: bool = True
    personal_data: bool = False  # documents which pages show personal data
    description: str = ""

    def allows(self, user) -> bool:
        if self.public:
            return True
        return bool(user.is_authenticated and user.role in self.roles)


PUBLIC = Policy(public=True, needs_second_factor=False)


def policy(
    roles: Iterable[str] = (),
    *,
    public: bool = False,
    needs_second_factor: bool = True,
    personal_data: bool = False,
    description: str = "",
) -> Callable:
    """Declare a view's access policy: ``@policy(roles={Role.WARD_ADMIN})``."""
    declared = Policy(
        roles=frozenset(roles),
        public=public,
        needs_second_factor=needs_second_factor and not public,
        personal_data=personal_data,
        description=description,
    )

    def decorate(view):
        view.genchi_policy = declared
        return view

    return decorate


def policy_of(view) -> Policy | None:
    # Class-based views: as_view() copies attributes of the class onto the function.
    found = getattr(view, "genchi_policy", None)
    if found is None and hasattr(view, "view_class"):
        found = getattr(view.view_class, "genchi_policy", None)
    return found


__all__ = ["ALL_ROLES", "CONTRACTOR_ROLES", "PUBLIC", "Policy", "Role", "WARD_ROLES", "policy"]

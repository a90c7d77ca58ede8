"""Every view declares who may call it; the policy middleware enforces it (D2).

A view without a declared policy is refused, and the URL-policy test fails, so a new
page can never be reachable by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .roles import has_role


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
        return has_role(user, self.roles)


PUBLIC = Policy(public=True, needs_second_factor=False)


def policy(
    roles: Iterable[str] = (),
    *,
    public: bool = False,
    needs_second_factor: bool = True,
    personal_data: bool = False,
    description: str = "",
) -> Callable:
    """Declare a view's access policy: ``@policy(WARD_ADMINS)`` with a set from `roles`."""
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


def permits(view, user) -> bool:
    """Whether `user` may call `view`: a page shows a form or a button only when the
    action it posts to would accept this person."""
    declared = policy_of(view)
    return declared is not None and declared.allows(user)


__all__ = ["PUBLIC", "Policy", "permits", "policy", "policy_of"]

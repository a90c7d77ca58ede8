"""Who is acting right now: set per request by middleware, per command by the CLI."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    username: str = ""
    organisation_code: str = ""
    ip: str = ""
    channel: str = "system"  # "web", "cli" or "system"


_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("genchi_actor", default=Actor())  # noqa: B039 - Actor is frozen


def current_actor() -> Actor:
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def actor_for_user(user, *, ip: str = "", channel: str = "web") -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(ip=ip, channel=channel)
    org = getattr(user, "organisation", None)
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        organisation_code=org.code if org else "",
        ip=ip,
        channel=channel,
    )

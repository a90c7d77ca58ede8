"""Flags other apps raise on visits, for the office reviewer (not blocks): the tablet's
field checks (distance to the address, speed between visits, time on site, issue 16
item 8). An app registers a provider in its ready(); fieldwork never imports it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

# provider(visits) -> {visit pk: [{"text": str, "flagged": bool}, ...]}
Provider = Callable[[list[Any]], dict[int, list[dict]]]
_providers: list[Provider] = []


def register_visit_flags(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def flags_for(visits: Iterable[Any]) -> dict[int, list[dict]]:
    """Every provider's notes on `visits`, by visit."""
    visits = list(visits)
    found: dict[int, list[dict]] = {}
    for provider in _providers:
        for pk, notes in provider(visits).items():
            found.setdefault(pk, []).extend(notes)
    return found

"""Official documents (handover slips, the USB stick ledger) are Japanese, whatever the
language of the page that asks for them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.utils import translation

P = ParamSpec("P")
R = TypeVar("R")


def in_japanese(build: Callable[P, R]) -> Callable[P, R]:
    """Build the document with Japanese active, so that translated text inside it (choice
    labels such as a wipe method, custodian words) comes out in Japanese too."""

    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override("ja"):
            return build(*args, **kwargs)

    return wrapper

"""Sections that other apps add to the ward's case page, without intake importing them.

The results app adds the survey's outcome; each panel is a function
`(request, case) -> str | None` (HTML already rendered, or None when it has nothing to
show), registered once from the owning app's `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import Case

CasePanel = Callable[["HttpRequest", "Case"], SafeString | None]

_panels: list[CasePanel] = []


def register_case_panel(panel: CasePanel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def case_panels(request: HttpRequest, case: Case) -> list[SafeString]:
    return [html for panel in _panels if (html := panel(request, case))]

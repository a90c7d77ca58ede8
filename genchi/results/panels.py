"""The outcome section of the ward's case page (registered with intake.panels)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from genchi.core.outcomes import rule_of

from .selectors import result_of_case, visits_of


def outcome_panel(request, case) -> SafeString | None:
    result = result_of_case(case)
    if result is None:
        return None
    return render_to_string(
        "results/_case_outcome.html",
        {
            "result": result,
            "rule": rule_of(result.outcome),
            "visits": visits_of(result),
            "photos": list(result.photos.all()),
        },
        request=request,
    )

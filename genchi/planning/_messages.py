"""Translation of the planner's messages without importing Django.

The planner is a plain library (the CLI, the office pages and the benchmark call it), so
it cannot import Django. Its messages are Japanese msgids marked with `_()` (so
`makemessages` collects them into Genchi's catalogue like any other); at run time they
are translated through Django only when the caller has already loaded and set it up.
"""

from __future__ import annotations

import sys


def _(message: str) -> str:
    translation = sys.modules.get("django.utils.translation")
    apps = sys.modules.get("django.apps")
    if translation is None or apps is None or not apps.apps.ready:
        return message
    return translation.gettext(message)

"""The refusal page (403): what the policy middleware and the permission handler show.

It lives here, not in `web`, so that access control imports nothing of the UI shell; the
page's template is the shell's error page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def render_denied(request: HttpRequest, message: str, *, title: str = "") -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"title": title or _("アクセスできません"), "message": message, "status": 403},
        status=403,
    )

"""The UI shell: home page per role and friendly Japanese error pages."""

import contextlib

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.http import require_POST, require_safe

from genchi import __version__
from genchi.access.denied import render_denied
from genchi.access.policy import policy
from genchi.access.roles import ALL_ROLES
from genchi.audit.chain import record
from genchi.compliance.audits import contracts_missing_audit
from genchi.compliance.incidents import open_incidents_for
from genchi.core.database import pending_migrations
from genchi.jobs.selectors import queue_counts, tasks_given_up
from genchi.parties.selectors import contracts_for

from .navigation import entries_for


@require_safe
@policy(ALL_ROLES, description="ホーム")
def home(request):
    tiles = [e for e in entries_for(request.user, request.path) if e["name"] != "web:home"]
    return render(
        request,
        "web/home.html",
        {
            "tiles": tiles,
            "contracts": contracts_for(request.user).select_related("ward", "contractor"),
            # Open incidents stay on both sides' home until the ward closes them (S19).
            "open_incidents": list(open_incidents_for(request.user)[:20]),
            # A contract in force with no on-site audit this fiscal year (S16).
            "missing_audits": contracts_missing_audit(request.user),
        },
    )


@require_safe
@policy(public=True, description="稼働状態(監視用。個人情報なし)")
def health(request):
    """For the proxy and the monitoring: 200 when pages can be served, 503 when not.
    Counts and versions only; no personal data, no names, no contract codes."""
    body: dict = {"status": "ok", "version": __version__}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = pending_migrations()
        body["database"] = "ok"
        body["migrations"] = "pending" if pending else "ok"
        body["jobs"] = queue_counts()
        body["tasks_given_up"] = tasks_given_up()
    except DatabaseError:
        body["database"] = "unreachable"
    if body.get("database") != "ok" or body.get("migrations") != "ok":
        body["status"] = "unavailable"
    response = JsonResponse(body, status=200 if body["status"] == "ok" else 503)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@policy(public=True, description="表示言語の切り替え")
def set_language(request):
    """Django's set_language (POST, CSRF-protected, safe `next`), under a declared policy."""
    return i18n_views.set_language(request)


def _error(request, status: int, title: str, message: str):
    return render(
        request,
        "web/error.html",
        {"title": title, "message": message, "status": status},
        status=status,
    )


def bad_request(request, exception=None):
    record("http.bad_request", detail={"path": request.path[:300]})
    return _error(
        request,
        400,
        _("リクエストが正しくありません"),
        _("入力内容を確認して、もう一度お試しください。"),
    )


def permission_denied(request, exception=None):
    record("access.denied", detail={"path": request.path[:300], "reason": "view"})
    message = (
        str(exception)
        if exception and str(exception)
        else _("このページを表示する権限がありません。")
    )
    return render_denied(request, message)


def page_not_found(request, exception=None):
    record("http.not_found", detail={"path": request.path[:300]})
    return _error(
        request, 404, _("ページが見つかりません"), _("アドレスが正しいか確認してください。")
    )


def server_error(request):
    # The database may be why we are here: a failed log entry must not hide the page.
    with contextlib.suppress(Exception):
        record("http.server_error", detail={"path": request.path[:300]})
    return render(request, "web/500.html", status=500)


def csrf_failure(request, reason=""):
    record("http.csrf_failure", detail={"path": request.path[:300]})
    return render_denied(
        request,
        _(
            "画面を開いてから時間が経ったか、別の画面から送信されました。ページを読み込み直してから、もう一度操作してください。"
        ),
        title=_("送信を受け付けられませんでした"),
    )

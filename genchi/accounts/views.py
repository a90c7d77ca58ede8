import base64

import segno
from django.contrib import messages
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from genchi.access.policy import policy
from genchi.access.roles import ALL_ROLES
from genchi.audit.chain import record
from genchi.audit.middleware import client_ip

from . import services
from .forms import CodeForm, PasswordForm


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=False):
        return target
    return "/"


@policy(public=True, description="サインイン(パスワード)")
def login_view(request):
    if request.user.is_authenticated and request.user.is_verified():
        return redirect("web:home")
    form = PasswordForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = services.check_password(
            request,
            form.cleaned_data["username"],
            form.cleaned_data["password"],
            ip=client_ip(request),
        )
        if result.user is not None:
            login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["next"] = _next_url(request)
            return redirect("accounts:second_factor")
        error = result.message
    expired = request.GET.get("expired") == "1"
    return render(
        request,
        "accounts/login.html",
        {"form": form, "error": error, "expired": expired, "next": _next_url(request)},
        status=200 if not error else 401,
    )


@policy(ALL_ROLES, needs_second_factor=False, description="二要素認証(確認・登録)")
def second_factor(request):
    user = request.user
    if user.is_verified():
        return redirect("web:home")
    device = services.confirmed_device(user)
    enrolling = device is None
    if enrolling:
        device = services.pending_device(user)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = services.verify_second_factor(
            user, device, form.cleaned_data["code"], ip=client_ip(request)
        )
        if result.user is not None:
            otp_login(request, device)
            request.session.cycle_key()
            return redirect(request.session.pop("next", "/") or "/")
        error = result.message
        if services.is_locked(user):
            logout(request)
            messages.error(request, error)
            return redirect("accounts:login")
    context = {"form": form, "error": error, "enrolling": enrolling}
    if enrolling:
        uri = device.config_url
        svg = segno.make(uri, error="m").svg_inline(scale=5, border=2)
        context["qr_data_uri"] = "data:image/svg+xml;base64," + base64.b64encode(
            svg.encode()
        ).decode("ascii")
        context["secret"] = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return render(request, "accounts/second_factor.html", context, status=200 if not error else 401)


@require_POST
@policy(ALL_ROLES, needs_second_factor=False, description="サインアウト")
def logout_view(request):
    record("signout", obj=request.user)
    logout(request)
    messages.success(request, _("サインアウトしました。"))
    return redirect("accounts:login")

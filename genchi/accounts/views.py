import base64

import segno
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import ValidationError
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
from .forms import CodeForm, NewPasswordForm, PasswordChangeForm, PasswordForm

# Set by the password step and cleared when the sign-in completes: only a session that has
# just typed the password may choose a new one without typing it again.
PASSWORD_JUST_CHECKED = "password_just_checked"  # noqa: S105 - a session key, not a secret


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
            request.session[PASSWORD_JUST_CHECKED] = True
            notice = services.take_reset_notice(result.user)
            if notice:
                messages.warning(request, notice)
            if result.user.must_change_password:
                return redirect("accounts:new_password")
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
    if user.must_change_password:
        return redirect("accounts:new_password")
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
            request.session.pop(PASSWORD_JUST_CHECKED, None)
            request.session.cycle_key()
            return redirect(request.session.pop("next", "/") or "/")
        error = result.message
        if result.locked:
            logout(request)
            messages.error(request, error)
            return redirect("accounts:login")
    context = {"form": form, "error": error, "enrolling": enrolling}
    if enrolling:
        uri = device.config_url
        # As an <img> source the SVG needs its namespace, or browsers draw nothing (issue 13).
        context["qr_data_uri"] = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
        context["secret"] = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return render(request, "accounts/second_factor.html", context, status=200 if not error else 401)


def _password_page(request, form, template: str, *, status: int = 200):
    context = {"form": form, "policy": password_validators_help_texts()}
    return render(request, template, context, status=status)


@policy(
    ALL_ROLES, needs_second_factor=False, description="自分のパスワードの設定(初回・リセット後)"
)
def new_password(request):
    """After an administrator gave the password or reset the second factor: the person
    chooses their own before anything else, second factor included."""
    user = request.user
    if not user.must_change_password:
        return redirect("accounts:second_factor")
    if not request.session.get(PASSWORD_JUST_CHECKED):
        # A session opened before the reset: whoever holds it must show the password first.
        logout(request)
        messages.warning(request, _("パスワードの設定が必要です。もう一度サインインしてください。"))
        return redirect("accounts:login")
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_own_password(
                user, form.cleaned_data["new_password"], ip=client_ip(request)
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("new_password", message)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("パスワードを設定しました。続けて二要素認証に進みます。"))
            return redirect("accounts:second_factor")
    status = 400 if form.errors else 200
    return _password_page(request, form, "accounts/new_password.html", status=status)


@policy(ALL_ROLES, description="パスワードの変更")
def password_change(request):
    user = request.user
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip = client_ip(request)
        checked = services.check_current_password(
            user, form.cleaned_data["current_password"], ip=ip
        )
        if checked.locked:
            logout(request)
            messages.error(request, checked.message)
            return redirect("accounts:login")
        if checked.user is None:
            form.add_error("current_password", _("今のパスワードが違います。"))
        else:
            try:
                services.set_own_password(user, form.cleaned_data["new_password"], ip=ip)
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("new_password", message)
            else:
                # Keeps this session; every other session of the person ends (Django ties
                # a session to the password hash).
                update_session_auth_hash(request, user)
                messages.success(request, _("パスワードを変更しました。"))
                return redirect("web:home")
    status = 400 if form.errors else 200
    return _password_page(request, form, "accounts/password_change.html", status=status)


@require_POST
@policy(ALL_ROLES, needs_second_factor=False, description="サインアウト")
def logout_view(request):
    record("signout", obj=request.user)
    logout(request)
    messages.success(request, _("サインアウトしました。"))
    return redirect("accounts:login")

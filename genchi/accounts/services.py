"""Sign-in: password, second factor, lockout. Every outcome is logged (C-S1.3, C-S1.5), in
the same transaction as what it changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from genchi.accounts.models import TOTPDevice
from genchi.audit.chain import record
from genchi.audit.context import Actor, actor_for_user

from .models import User


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    message: str = ""


def _locked_message(user: User) -> str:
    until = timezone.localtime(user.locked_until).strftime("%H:%M")
    return (
        f"サインインの失敗が続いたため、このアカウントは {until} までロックされています。"
        "急ぎの場合は管理者に連絡してください。"
    )


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


def register_failure(user: User, *, ip: str, stage: str) -> None:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.failed_sign_ins += 1
        locked = user.failed_sign_ins >= settings.GENCHI_LOCKOUT_THRESHOLD
        if locked:
            user.locked_until = timezone.now() + timedelta(minutes=settings.GENCHI_LOCKOUT_MINUTES)
            user.failed_sign_ins = 0
        user.save(update_fields=["failed_sign_ins", "locked_until"])
        actor = actor_for_user(user, ip=ip)
        record("signin.failed", obj=user, detail={"stage": stage}, actor=actor)
        if locked:
            record(
                "signin.locked",
                obj=user,
                detail={"minutes": settings.GENCHI_LOCKOUT_MINUTES},
                actor=actor,
            )


def check_password(request, username: str, password: str, *, ip: str) -> SignInResult:
    """First step. The message never tells whether the user name exists."""
    generic = "ユーザー名またはパスワードが違います。"
    user = User.objects.filter(username=username).first()
    if user is None:
        record(
            "signin.failed",
            detail={"stage": "password", "username": username[:150]},
            actor=Actor(ip=ip, channel="web"),
        )
        return SignInResult(None, generic)
    if is_locked(user):
        record("signin.refused_locked", obj=user, actor=actor_for_user(user, ip=ip))
        return SignInResult(None, _locked_message(user))
    if not user.is_active:
        record("signin.refused_inactive", obj=user, actor=actor_for_user(user, ip=ip))
        return SignInResult(None, generic)
    if authenticate(request, username=username, password=password) is None:
        register_failure(user, ip=ip, stage="password")
        user.refresh_from_db()
        return SignInResult(None, _locked_message(user) if is_locked(user) else generic)
    record("signin.password_ok", obj=user, actor=actor_for_user(user, ip=ip))
    return SignInResult(user)


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled, created on first need."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Genchi", confirmed=False)


@transaction.atomic
def verify_second_factor(user: User, device: TOTPDevice, token: str, *, ip: str) -> SignInResult:
    """Checks a TOTP code; django-otp refuses a code already used (replay)."""
    token = "".join(ch for ch in token if ch.isdigit())
    if is_locked(user):
        return SignInResult(None, _locked_message(user))
    if not token or not device.verify_token(token):
        register_failure(user, ip=ip, stage="second_factor")
        user.refresh_from_db()
        if is_locked(user):
            return SignInResult(None, _locked_message(user))
        return SignInResult(
            None,
            "確認コードが違うか、すでに使われたコードです。認証アプリの新しいコードを入力してください。",
        )
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record("mfa.enrolled", obj=user, actor=actor_for_user(user, ip=ip))
    User.objects.filter(pk=user.pk).update(failed_sign_ins=0, locked_until=None)
    record("signin.success", obj=user, actor=actor_for_user(user, ip=ip))
    return SignInResult(user)


@transaction.atomic
def reset_second_factor(target: User, *, by: User) -> None:
    TOTPDevice.objects.filter(user=target).delete()
    record("mfa.reset", obj=target, detail={"by": by.username})


@transaction.atomic
def unlock(target: User) -> None:
    User.objects.filter(pk=target.pk).update(failed_sign_ins=0, locked_until=None)
    record("account.unlocked", obj=target)

"""Sign-in: password, second factor, lockout, passwords of one's own. Every outcome is
logged (C-S1.3, C-S1.5), in the same transaction as what it changes.

Failures are counted by `lockout` under the row's lock, so concurrent requests cannot
get more tries than the threshold; a name without an account is counted the same way on
an `UnknownNameCounter` row and costs the same password hashing, so nothing from outside
tells a real name from an unknown one."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.accounts.models import TOTPDevice
from genchi.audit.chain import record
from genchi.core.acting import Actor, actor_for_user

from . import lockout
from .models import UnknownNameCounter, User


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    message: str = ""
    locked: bool = False


def wrong_password_message() -> str:
    return _("ユーザー名またはパスワードが違います。")


def locked_message(locked_until: datetime) -> str:
    return _(
        "サインインの失敗が続いたため、このアカウントは %(until)s までロックされています。"
        "急ぎの場合は管理者に連絡してください。"
    ) % {"until": timezone.localtime(locked_until).strftime("%H:%M")}


def is_locked(user: User) -> bool:
    return lockout.is_locked(user)


def _name_hash(username: str) -> str:
    """A name without an account, keyed under the installation's secret: neither the
    counter table nor the log keeps what was typed (often a password in the wrong field),
    yet the log still shows which failures were the same name."""
    return hmac.new(
        settings.SECRET_KEY.encode(), b"unknown-name\0" + username.encode(), hashlib.sha256
    ).hexdigest()


def _unknown_name_counter(username: str) -> UnknownNameCounter:
    return UnknownNameCounter.objects.get_or_create(name_hash=_name_hash(username))[0]


def _record_failure(
    user: User | None, username: str, actor: Actor, stage: str, settled: lockout.Settled
) -> None:
    if user is not None and not user.is_active:
        record("signin.refused_inactive", obj=user, detail={"stage": stage}, actor=actor)
    elif user is not None:
        record("signin.failed", obj=user, detail={"stage": stage}, actor=actor)
    else:
        detail = {"stage": stage, "unknown_name": _name_hash(username)[:16]}
        record("signin.failed", detail=detail, actor=actor)
    if settled.just_locked:
        detail = {"minutes": settings.GENCHI_LOCKOUT_MINUTES}
        if user is None:
            detail["unknown_name"] = _name_hash(username)[:16]
        record("signin.locked", obj=user, detail=detail, actor=actor)


def _checked_password(
    counter: models.Model,
    user: User | None,
    username: str,
    password: str,
    *,
    ip: str,
    stage: str,
    within: Callable[[SignInResult], None] | None = None,
) -> SignInResult:
    """The password check between `lockout.admit` and `lockout.settle` (see lockout.py).
    A name without an account runs the same hasher once, so both take the same time.
    `within(result)` runs in the transaction that settles the try and writes its entries,
    so what a caller writes on the answer stays or goes with them."""
    username = username[:150]
    actor = actor_for_user(user, ip=ip) if user is not None else Actor(ip=ip, channel="web")
    with transaction.atomic():
        admission = lockout.admit(counter)
        if not admission.admitted:
            if admission.just_locked:
                detail = {"minutes": settings.GENCHI_LOCKOUT_MINUTES, "reason": "tries_at_once"}
                if user is None:
                    detail["unknown_name"] = _name_hash(username)[:16]
                record("signin.locked", obj=user, detail=detail, actor=actor)
            record("signin.refused_locked", obj=user, detail={"stage": stage}, actor=actor)
            result = SignInResult(None, locked_message(counter.locked_until), locked=True)
            if within is not None:
                within(result)
            return result
    try:
        if user is None:
            make_password(password)  # the hasher work a real check does; the result is unused
            right = False
        else:
            right = user.check_password(password)
        with transaction.atomic():
            # An inactive person's right password counts as a failure: the same answer.
            usable = right and user.is_active
            settled = lockout.settle(counter, ok=usable)
            if settled.ok:
                record("signin.password_ok", obj=user, detail={"stage": stage}, actor=actor)
                result = SignInResult(user)
            else:
                if usable:
                    # Right, but a failure settled first locked the account: refused too.
                    record("signin.refused_locked", obj=user, detail={"stage": stage}, actor=actor)
                else:
                    _record_failure(user, username, actor, stage, settled)
                if lockout.is_locked(counter):
                    result = SignInResult(None, locked_message(counter.locked_until), locked=True)
                else:
                    result = SignInResult(None, wrong_password_message())
            if within is not None:
                within(result)
    except Exception:
        lockout.give_back(counter)  # nothing stays without its entry, not even the reservation
        raise
    return result


def check_password(
    request,
    username: str,
    password: str,
    *,
    ip: str,
    within: Callable[[SignInResult], None] | None = None,
) -> SignInResult:
    """First step. Nothing in the answer, its timing or its lockout tells whether the
    user name exists. `within`: see `_checked_password`."""
    user = User.objects.filter(username=username).first()
    counter = user if user is not None else _unknown_name_counter(username)
    return _checked_password(
        counter, user, username, password, ip=ip, stage="password", within=within
    )


def check_current_password(user: User, password: str, *, ip: str) -> SignInResult:
    """The current password asked before a change; a wrong one counts towards the lockout
    like a failed sign-in (a session left open must not become a way to guess it)."""
    return _checked_password(user, user, user.username, password, ip=ip, stage="password_change")


def set_own_password(user: User, new_password: str, *, ip: str) -> None:
    """The person chooses their password: after an administrator gave one (creation) or
    reset the second factor, or whenever they like. It must differ from the current one, so
    the administrator's is never kept. Raises ValidationError with what is wrong."""
    if user.check_password(new_password):
        raise ValidationError(
            _("新しいパスワードは、今のパスワードと違うものにしてください。"), code="same"
        )
    validate_password(new_password, user)
    required = user.must_change_password
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        record(
            "password.changed",
            obj=user,
            detail={"required": required},
            actor=actor_for_user(user, ip=ip),
        )


def take_reset_notice(user: User) -> str:
    """The words telling the person who reset their second factor and when; given once
    (an atomic conditional update), then empty."""
    with transaction.atomic():
        taken = User.objects.filter(pk=user.pk, second_factor_reset_unseen=True).update(
            second_factor_reset_unseen=False
        )
        if not taken:
            return ""
        user.refresh_from_db(fields=["second_factor_reset_by_name", "second_factor_reset_at"])
        record("mfa.reset_notice_shown", obj=user, actor=actor_for_user(user))
    at = timezone.localtime(user.second_factor_reset_at).strftime("%Y-%m-%d %H:%M")
    return _(
        "管理者 %(name)s が %(at)s に二要素認証をリセットしました。"
        "心当たりがない場合は、すぐに組織の責任者に連絡してください。"
    ) % {"name": user.second_factor_reset_by_name, "at": at}


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled, created on first need."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Genchi", confirmed=False)


def verify_second_factor(user: User, device: TOTPDevice, token: str, *, ip: str) -> SignInResult:
    """Checks a TOTP code under the person's and the device's row locks, so a code works
    once even when sent several times at once: django-otp refuses a time step not after
    the device's `last_t`, and the device is read again inside the lock, after any
    concurrent use of the same code moved it on."""
    token = "".join(ch for ch in token if ch.isdigit())
    actor = actor_for_user(user, ip=ip)
    with transaction.atomic():
        person = User.objects.select_for_update(of=("self",), no_key=True).get(pk=user.pk)
        if lockout.is_locked(person):
            return SignInResult(None, locked_message(person.locked_until), locked=True)
        device = device._meta.model._default_manager.select_for_update(
            of=("self",), no_key=True
        ).get(pk=device.pk)
        if not token or not device.verify_token(token):
            just_locked = lockout.count_failure(person)
            record("signin.failed", obj=person, detail={"stage": "second_factor"}, actor=actor)
            if just_locked:
                record(
                    "signin.locked",
                    obj=person,
                    detail={"minutes": settings.GENCHI_LOCKOUT_MINUTES},
                    actor=actor,
                )
                return SignInResult(None, locked_message(person.locked_until), locked=True)
            return SignInResult(
                None,
                _(
                    "確認コードが違うか、すでに使われたコードです。"
                    "認証アプリの新しいコードを入力してください。"
                ),
            )
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            record("mfa.enrolled", obj=person, actor=actor)
        User.objects.filter(pk=person.pk).update(failed_sign_ins=0, locked_until=None)
        record("signin.success", obj=person, actor=actor)
    return SignInResult(person)


@transaction.atomic
def reset_second_factor(target: User, *, by: User) -> None:
    """The person enrols again, after choosing a new password of their own, so whoever
    reset it cannot enrol in their place; they are told who did it at their next sign-in."""
    at = timezone.now()
    TOTPDevice.objects.filter(user=target).delete()
    User.objects.filter(pk=target.pk).update(
        must_change_password=True,
        second_factor_reset_by=by,
        second_factor_reset_by_name=str(by)[:100],
        second_factor_reset_at=at,
        second_factor_reset_unseen=True,
    )
    record(
        "mfa.reset",
        obj=target,
        detail={"by": by.username, "by_name": str(by), "at": at.isoformat()},
    )


@transaction.atomic
def unlock(target: User) -> None:
    User.objects.filter(pk=target.pk).update(failed_sign_ins=0, locked_until=None)
    record("account.unlocked", obj=target)

"""Reads about people (services write; selectors read)."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from genchi.access.roles import ORGANISATION_ADMINS, has_role

from . import lockout
from .models import TOTPDevice, User


def can_manage_people(user) -> bool:
    return has_role(user, ORGANISATION_ADMINS)


def people_for(user) -> QuerySet[User]:
    """People this person may administer: their own organisation's."""
    if not can_manage_people(user):
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id)


class AccountState(models.TextChoices):
    """What a person can do with their account now, as an administrator's list shows it."""

    ACTIVE = "active", _("有効")
    LOCKED = "locked", _("ロック中")
    SETTING_UP = "setting_up", _("本人の設定待ち")
    DISABLED = "disabled", _("無効")


def account_state(person: User, now: datetime | None = None) -> AccountState:
    # Most restrictive first: a disabled account that is also locked is "disabled".
    if not person.is_active:
        return AccountState.DISABLED
    if lockout.is_locked(person, now):
        return AccountState.LOCKED
    if person.must_change_password:
        return AccountState.SETTING_UP
    return AccountState.ACTIVE


def second_factor_on(people_ids: list[int]) -> dict[int, bool]:
    """Whether each person has a confirmed second factor (an authenticator set up), for
    the compliance checklist (C-S1.3): ids not found are simply absent."""
    confirmed = set(
        TOTPDevice.objects.filter(user_id__in=people_ids, confirmed=True).values_list(
            "user_id", flat=True
        )
    )
    return {pk: pk in confirmed for pk in people_ids}

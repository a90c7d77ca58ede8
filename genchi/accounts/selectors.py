"""Reads about people (services write; selectors read)."""

from __future__ import annotations

from django.db.models import QuerySet

from genchi.access.roles import ORGANISATION_ADMINS, has_role

from .models import User


def can_manage_people(user) -> bool:
    return has_role(user, ORGANISATION_ADMINS)


def people_for(user) -> QuerySet[User]:
    """People this person may administer: their own organisation's."""
    if not can_manage_people(user):
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id)

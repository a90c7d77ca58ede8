"""The roles a person can hold, and which side of a contract each belongs to.

The vocabulary lives in `core` because every layer speaks it: the user model stores it,
`access` builds its named role sets from it, and the contract scoping in `parties`
decides by it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    WARD_STAFF = "ward_staff", _("税務課職員")
    WARD_ADMIN = "ward_admin", _("区管理者")
    WARD_AUDITOR = "ward_auditor", _("監査担当(閲覧のみ)")
    MANAGER = "manager", _("取扱責任者")
    HANDLER = "handler", _("取扱者")
    SURVEYOR = "surveyor", _("調査員")


WARD_ROLES = frozenset({Role.WARD_STAFF, Role.WARD_ADMIN, Role.WARD_AUDITOR})
CONTRACTOR_ROLES = frozenset({Role.MANAGER, Role.HANDLER, Role.SURVEYOR})

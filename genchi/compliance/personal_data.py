"""Which models hold personal data (for commands that would print or copy whole tables).

A model holds personal data when it has an encrypted column (`EncryptedTextField`: the
taxpayers' names and addresses, decrypted as they are read) or is one of the sign-in
tables (people, their second factors and sessions).
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

SIGN_IN_MODELS = frozenset({"accounts.user", "accounts.totpdevice", "sessions.session"})


def holds_personal_data(model: type[models.Model]) -> bool:
    from genchi.vault.fields import EncryptedTextField

    if model._meta.label_lower in SIGN_IN_MODELS:
        return True
    return any(isinstance(f, EncryptedTextField) for f in model._meta.concrete_fields)


def personal_data_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if holds_personal_data(m)]

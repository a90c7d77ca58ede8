from django.apps import AppConfig
from django.core.signals import request_started


class VaultConfig(AppConfig):
    name = "genchi.vault"
    verbose_name = "暗号化"

    def ready(self) -> None:
        from . import keys

        # Each request compares the keyring's generation at its first key (keys.py):
        # a key destroyed by a server on another host is never used for a new request.
        request_started.connect(keys.expire_checks, dispatch_uid="genchi.vault.expire_checks")

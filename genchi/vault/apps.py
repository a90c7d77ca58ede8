from django.apps import AppConfig
from django.db.models.signals import post_save


class VaultConfig(AppConfig):
    name = "genchi.vault"
    verbose_name = "暗号化"

    def ready(self) -> None:
        # D1: a contract has its own data key from day one. The vault listens for new
        # contracts rather than `parties` calling it, so the parties layer stays below
        # the vault (whose keys point at contracts).
        post_save.connect(_key_for_new_contract, sender="parties.Contract")


def _key_for_new_contract(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from .keys import create_contract_key

        create_contract_key(instance)

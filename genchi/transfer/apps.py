from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "genchi.transfer"
    verbose_name = "受け渡し"

    def ready(self) -> None:
        from genchi.vault.keys import master_key_rewrappers

        from .orgkeys import rewrap_secrets

        if rewrap_secrets not in master_key_rewrappers:
            master_key_rewrappers.append(rewrap_secrets)

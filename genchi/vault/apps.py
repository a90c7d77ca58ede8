from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "genchi.vault"
    verbose_name = "暗号化"

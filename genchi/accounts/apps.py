from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "genchi.accounts"
    verbose_name = "アカウント"

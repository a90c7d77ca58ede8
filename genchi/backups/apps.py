from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "genchi.backups"
    verbose_name = "バックアップ"

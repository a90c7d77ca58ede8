from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "genchi.access"
    verbose_name = "アクセス制御"

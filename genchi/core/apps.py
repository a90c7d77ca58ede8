from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "genchi.core"
    verbose_name = "共通"

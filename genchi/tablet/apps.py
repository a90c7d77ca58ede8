from django.apps import AppConfig


class TabletConfig(AppConfig):
    name = "genchi.tablet"
    verbose_name = "調査用タブレット"

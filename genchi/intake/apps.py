from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "genchi.intake"
    verbose_name = "受付"

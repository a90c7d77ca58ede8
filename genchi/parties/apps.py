from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "genchi.parties"
    verbose_name = "組織と契約"

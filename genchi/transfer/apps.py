from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "genchi.transfer"
    verbose_name = "受け渡し"

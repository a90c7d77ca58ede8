from django.apps import AppConfig


class FieldworkConfig(AppConfig):
    name = "genchi.fieldwork"
    verbose_name = "現地調査"

    def ready(self) -> None:
        from genchi.transfer.handlers import register_receiver

        from .package_handlers import received_cases

        register_receiver(received_cases)

from django.apps import AppConfig


class FieldworkConfig(AppConfig):
    name = "genchi.fieldwork"
    verbose_name = "現地調査"

    def ready(self) -> None:
        from genchi.transfer.handlers import register_receiver

        from .package_handlers import received_cases

        register_receiver(received_cases)
        # The demo's cases are assigned by the planner's demo step (a confirmed area
        # proposal, genchi/planner/areas_demo.py).

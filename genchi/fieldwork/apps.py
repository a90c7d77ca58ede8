from django.apps import AppConfig


class FieldworkConfig(AppConfig):
    name = "genchi.fieldwork"
    verbose_name = "現地調査"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step
        from genchi.transfer.handlers import register_receiver

        from .demo import assign_demo_cases, record_demo_visits
        from .package_handlers import received_cases

        register_receiver(received_cases)
        # After the handover round trip (order 90) has brought the cases in.
        register_demo_step("fieldwork", assign_demo_cases, order=95)
        register_demo_step("fieldwork-visits", record_demo_visits, order=96)

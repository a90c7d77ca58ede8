from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "genchi.intake"
    verbose_name = "受付"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step
        from genchi.transfer.handlers import register_source

        from .demo_data import demo_step
        from .package_handlers import sealed_batches

        register_source(sealed_batches)
        register_demo_step("intake", demo_step, order=20)

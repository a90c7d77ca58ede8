from django.apps import AppConfig


class ErasureConfig(AppConfig):
    name = "genchi.erasure"
    verbose_name = "消去と契約の終了"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step
        from genchi.transfer.handlers import register_receiver, register_source

        from .demo import demo_step
        from .package_handlers import certificate_receiver, certificate_source

        register_source(certificate_source)
        register_receiver(certificate_receiver)
        # Its erasure commits, compacts and rotates the master key as a real one does.
        register_demo_step("erasure", demo_step, order=100, atomic=False)

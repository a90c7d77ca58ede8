from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "genchi.transfer"
    verbose_name = "受け渡し"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step
        from genchi.vault.keys import master_key_rewrappers

        from .demo import demo_step
        from .orgkeys import rewrap_secrets

        if rewrap_secrets not in master_key_rewrappers:
            master_key_rewrappers.append(rewrap_secrets)
        # The handover round trip needs the sealed demo batch: it runs after the steps that
        # prepare data (only the contractor's work on the received cases comes later).
        register_demo_step("handover", demo_step, order=90)

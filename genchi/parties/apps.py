from django.apps import AppConfig


class PartiesConfig(AppConfig):
    name = "genchi.parties"
    verbose_name = "組織と契約"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step

        from .demo import create_demo_parties

        register_demo_step("parties", create_demo_parties, order=10)

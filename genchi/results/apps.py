from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "genchi.results"
    verbose_name = "調査結果"

    def ready(self) -> None:
        from genchi.intake.panels import register_case_panel
        from genchi.transfer.handlers import register_receiver

        from .panels import outcome_panel
        from .receiving import returned_results

        register_receiver(returned_results)
        register_case_panel(outcome_panel)

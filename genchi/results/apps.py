from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "genchi.results"
    verbose_name = "調査結果"

    def ready(self) -> None:
        from genchi.core.storedfiles import register_file_owner
        from genchi.intake.panels import register_case_panel
        from genchi.transfer.handlers import register_receiver

        from .panels import outcome_panel
        from .receiving import PHOTO_FOLDER, STORAGE_ALIAS, returned_results, stored_names

        register_receiver(returned_results)
        register_case_panel(outcome_panel)
        # Result photos whose import was never kept (a transaction rolled back) are swept.
        register_file_owner(STORAGE_ALIAS, PHOTO_FOLDER, stored_names)

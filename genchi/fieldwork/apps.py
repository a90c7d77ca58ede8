from django.apps import AppConfig


class FieldworkConfig(AppConfig):
    name = "genchi.fieldwork"
    verbose_name = "現地調査"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step
        from genchi.core.storedfiles import register_file_owner
        from genchi.transfer.handlers import register_receiver

        from . import photos
        from .demo import record_demo_visits, return_demo_results
        from .package_handlers import received_cases

        register_receiver(received_cases)
        # Photo files whose visit was never kept (a transaction rolled back) are swept.
        register_file_owner(photos.STORAGE_ALIAS, photos.PREFIX, photos.stored_names)
        # The demo's cases are assigned by the planner's demo step (a confirmed area
        # proposal, genchi/planner/areas_demo.py, order 95); a few are then visited.
        register_demo_step("fieldwork-visits", record_demo_visits, order=96)
        # After the planner's campaign (98): a small second batch goes the whole chain,
        # report and results back to the ward included (issue 15 item 6).
        register_demo_step("fieldwork-results", return_demo_results, order=99)

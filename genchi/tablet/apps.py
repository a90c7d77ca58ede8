from django.apps import AppConfig


class TabletConfig(AppConfig):
    name = "genchi.tablet"
    verbose_name = "調査用タブレット"

    def ready(self) -> None:
        from genchi.fieldwork.visit_flags import register_visit_flags

        from .checks import flags_for_visits

        # The office reviewer sees the field checks on each visit sent from a tablet.
        register_visit_flags(flags_for_visits)
        from genchi.jobs.sweeps import register_sweep

        from .tasks import sweep_received

        # Visits received whose recording task failed or was lost: recorded again.
        register_sweep("tablet.settle", sweep_received)

from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "genchi.evaluation"
    verbose_name = "追跡と年度評価"

    def ready(self) -> None:
        from genchi.intake.panels import register_case_panel

        from .panels import follow_up_panel

        # The follow-up of a case (contacts after the slip) on the ward's case page. The
        # demo's follow-up is filled by compliance's demo step (order 101).
        register_case_panel(follow_up_panel)

"""The Django side of the planner: surveyors' bases, the area proposal and the campaign
plan of a contract, its pages and the `genchi plan` command.

The planning itself is the Django-free library `genchi.planning`; this app stores what the
office decides and calls the library.
"""

from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "genchi.planner"
    verbose_name = "訪問計画"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step

        from .demo import plan_demo_campaign
        from .receivers import connect

        connect()
        # After the demo's cases have come in and been given to surveyors (order 95).
        register_demo_step("planner", plan_demo_campaign, order=98)

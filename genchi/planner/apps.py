from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "genchi.planner"
    verbose_name = "訪問計画"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step

        from .areas_demo import demo_areas

        # After the handover round trip (order 90) has brought the cases in: the bases,
        # and the demo batch assigned by a confirmed area proposal.
        register_demo_step("areas", demo_areas, order=95)

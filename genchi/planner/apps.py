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

        from .areas_demo import demo_areas

        # After the handover round trip (order 90) has brought the cases in: the bases,
        # and the demo batch assigned by a confirmed area proposal.
        register_demo_step("areas", demo_areas, order=95)
        from .demo import plan_demo_campaign
        from .receivers import connect

        connect()
        from genchi.jobs.sweeps import register_sweep

        from .tasks import sweep_waiting_results

        # Results waiting for the plan whose applying task failed or was lost.
        register_sweep("planner.apply_results", sweep_waiting_results)
        # After the demo's cases have come in and been given to surveyors (order 95).
        register_demo_step("planner", plan_demo_campaign, order=98)

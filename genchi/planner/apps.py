from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "genchi.planner"
    verbose_name = "訪問計画"

from django.urls import path

from . import plan_views

app_name = "planner"
urlpatterns = [
    path("planner/plans/", plan_views.plan_index, name="plan_index"),
    path("planner/<slug:code>/plan/", plan_views.plan_overview, name="plan"),
    path("planner/<slug:code>/plan/settings/", plan_views.plan_settings, name="plan_settings"),
    path("planner/<slug:code>/plan/solve/", plan_views.plan_solve, name="plan_solve"),
    path("planner/<slug:code>/plan/progress/", plan_views.plan_progress, name="plan_progress"),
    path(
        "planner/<slug:code>/plan/<int:person_id>/replan/",
        plan_views.plan_replan,
        name="plan_replan",
    ),
    path(
        "planner/<slug:code>/plan/<int:person_id>/<str:date>/",
        plan_views.plan_day,
        name="plan_day",
    ),
    path(
        "planner/<slug:code>/plan/<int:person_id>/<str:date>/lock/",
        plan_views.plan_lock,
        name="plan_lock",
    ),
]

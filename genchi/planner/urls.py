from django.urls import path

from . import areas_views, plan_views

app_name = "planner"
urlpatterns = [
    # Areas and bases (C-S2.4).
    path("planner/areas/", areas_views.areas_index, name="areas_index"),
    path("planner/<slug:code>/areas/", areas_views.areas_page, name="areas_page"),
    path("planner/<slug:code>/areas/propose/", areas_views.areas_propose, name="areas_propose"),
    path("planner/<slug:code>/areas/move/", areas_views.areas_move_cases, name="areas_move_cases"),
    path(
        "planner/<slug:code>/areas/move-town/", areas_views.areas_move_town, name="areas_move_town"
    ),
    path(
        "planner/<slug:code>/areas/move-trip/", areas_views.areas_move_trip, name="areas_move_trip"
    ),
    path("planner/<slug:code>/areas/confirm/", areas_views.areas_confirm, name="areas_confirm"),
    path("planner/<slug:code>/bases/", areas_views.bases, name="bases"),
    # The campaign and its routes.
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

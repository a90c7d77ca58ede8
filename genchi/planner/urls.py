from django.urls import path

from . import areas_views

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
    path("planner/<slug:code>/areas/confirm/", areas_views.areas_confirm, name="areas_confirm"),
    path("planner/<slug:code>/bases/", areas_views.bases, name="bases"),
]

from django.urls import path

from . import views

app_name = "fieldwork"
urlpatterns = [
    path("fieldwork/cases/", views.case_list, name="case_list"),
    path("fieldwork/cases/assign/", views.case_assign, name="case_assign"),
    path("fieldwork/cases/<slug:code>/<str:case_ref>/", views.case_detail, name="case_detail"),
    path(
        "fieldwork/cases/<slug:code>/<str:case_ref>/position/",
        views.case_position,
        name="case_position",
    ),
]

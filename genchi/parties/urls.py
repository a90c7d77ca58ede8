from django.urls import path

from . import views

app_name = "parties"
urlpatterns = [
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<slug:code>/", views.contract_detail, name="contract_detail"),
    path("contracts/<slug:code>/edit/", views.contract_edit, name="contract_edit"),
    path(
        "contracts/<slug:code>/designations/",
        views.designation_create,
        name="designation_create",
    ),
    path(
        "contracts/<slug:code>/designations/<int:pk>/end/",
        views.designation_end,
        name="designation_end",
    ),
    path("people/", views.person_list, name="person_list"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path(
        "people/<int:pk>/reset-second-factor/",
        views.person_reset_second_factor,
        name="person_reset_second_factor",
    ),
    path("people/<int:pk>/unlock/", views.person_unlock, name="person_unlock"),
]

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

urlpatterns += [
    path("people/<int:person_id>/training/", views.staff_training, name="staff_training"),
    path("people/<int:person_id>/pledge/", views.staff_pledge, name="staff_pledge"),
    path(
        "people/<int:person_id>/pledges/<int:pledge_id>/scan/",
        views.staff_pledge_scan,
        name="staff_pledge_scan",
    ),
    path("people/<int:person_id>/photo/", views.staff_photo, name="staff_photo"),
    path("contracts/<slug:code>/roster.pdf", views.roster_pdf_download, name="roster_pdf"),
    path(
        "contracts/<slug:code>/designations/<int:designation_id>/id-card/",
        views.id_card_issue,
        name="id_card_issue",
    ),
    path("id-cards/<int:card_id>/pdf/", views.id_card_pdf_download, name="id_card_pdf"),
    path("id-cards/<int:card_id>/revoke/", views.id_card_revoke, name="id_card_revoke"),
    path("id-cards/check/<str:token>/", views.id_card_check, name="id_card_check"),
]

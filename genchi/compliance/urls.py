from django.urls import path

from . import incident_views, views

app_name = "compliance"
urlpatterns = [
    path("audit/", views.log, name="log"),
    path("audit/check/", views.check_start, name="check_start"),
    path("audit/check/status/", views.check_status, name="check_status"),
    path("incidents/", incident_views.incident_list, name="incident_list"),
    path("incidents/new/", incident_views.incident_new, name="incident_new"),
    path("incidents/<int:incident_id>/", incident_views.incident_detail, name="incident_detail"),
    path(
        "incidents/<int:incident_id>/entries/",
        incident_views.incident_add_entry,
        name="incident_add_entry",
    ),
    path(
        "incidents/<int:incident_id>/report.pdf", incident_views.incident_pdf, name="incident_pdf"
    ),
]

from django.urls import path

from . import checklist_views, incident_views, views

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
    path("incidents/<int:incident_id>/send/", incident_views.incident_send, name="incident_send"),
]

urlpatterns += [
    path("compliance/checklists/", checklist_views.checklist_list, name="checklist_list"),
    path(
        "compliance/checklists/<slug:code>/",
        checklist_views.checklist_detail,
        name="checklist_detail",
    ),
    path(
        "compliance/checklists/<slug:code>/answer/",
        checklist_views.checklist_answer,
        name="checklist_answer",
    ),
    path(
        "compliance/checklists/<slug:code>/download/<str:kind>/",
        checklist_views.checklist_download,
        name="checklist_download",
    ),
    path("compliance/audits/new/<slug:code>/", checklist_views.audit_new, name="audit_new"),
    path("compliance/audits/<int:audit_id>/", checklist_views.audit_detail, name="audit_detail"),
    path(
        "compliance/audits/<int:audit_id>/actions/",
        checklist_views.audit_add_action,
        name="audit_add_action",
    ),
    path(
        "compliance/audits/actions/<int:action_id>/complete/",
        checklist_views.audit_complete_action,
        name="audit_complete_action",
    ),
    path(
        "compliance/audits/<int:audit_id>/download/<str:kind>/",
        checklist_views.audit_download,
        name="audit_download",
    ),
    path(
        "compliance/handling/<slug:code>/",
        checklist_views.handling_report,
        name="handling_report",
    ),
    path(
        "compliance/handling/<slug:code>/download/<str:kind>/",
        checklist_views.handling_download,
        name="handling_download",
    ),
    path(
        "compliance/history/<slug:code>/",
        checklist_views.contract_history,
        name="contract_history",
    ),
    # A lost tablet is an incident: the action sits with incidents, beside the tablets.
    path(
        "tablet/devices/<int:device_id>/lost/",
        incident_views.device_lost,
        name="device_lost",
    ),
]

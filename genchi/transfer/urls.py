from django.urls import path

from . import views

app_name = "transfer"
urlpatterns = [
    path("handover/", views.package_list, name="package_list"),
    path("handover/keys/", views.keys, name="keys"),
    path("handover/keys/card.json", views.card_download, name="card_download"),
    path("handover/export/", views.package_export, name="package_export"),
    path("handover/import/", views.package_import, name="package_import"),
    path("handover/jobs/<int:job_id>/", views.handover_job, name="handover_job"),
    path(
        "handover/jobs/<int:job_id>/progress/",
        views.handover_job_progress,
        name="handover_job_progress",
    ),
    path(
        "handover/jobs/<int:job_id>/restart/",
        views.handover_job_restart,
        name="handover_job_restart",
    ),
    path("handover/slips/<int:slip_id>/", views.slip_detail, name="slip_detail"),
    path("handover/slips/<int:slip_id>/pdf/", views.slip_pdf_download, name="slip_pdf"),
    path("usb/", views.usb_list, name="usb_list"),
    path("usb/ledger.pdf", views.usb_ledger_pdf, name="usb_ledger_pdf"),
    path("usb/ledger.xlsx", views.usb_ledger_xlsx, name="usb_ledger_xlsx"),
    path("usb/<int:stick_id>/", views.usb_detail, name="usb_detail"),
]

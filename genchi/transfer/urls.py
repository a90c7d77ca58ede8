from django.urls import path

from . import views

app_name = "transfer"
urlpatterns = [
    path("handover/", views.package_list, name="package_list"),
    path("handover/keys/", views.keys, name="keys"),
    path("handover/keys/create/", views.key_pair_create, name="key_pair_create"),
    path("handover/keys/card.json", views.card_download, name="card_download"),
    path("handover/keys/cards/", views.card_import, name="card_import"),
    path(
        "handover/keys/contracts/<int:contract_id>/",
        views.contract_card,
        name="contract_card",
    ),
    path(
        "handover/keys/contracts/<int:contract_id>/create/",
        views.contract_key_create,
        name="contract_key_create",
    ),
    path(
        "handover/keys/contracts/<int:contract_id>/card.json",
        views.contract_card_download,
        name="contract_card_download",
    ),
    path(
        "handover/keys/contract-cards/",
        views.contract_card_import,
        name="contract_card_import",
    ),
    path("handover/export/", views.package_export, name="package_export"),
    path("handover/import/", views.package_import, name="package_import"),
    path(
        "handover/packages/<int:package_id>/download/",
        views.package_download,
        name="package_download",
    ),
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
    path("handover/slips/<int:slip_id>/receive/", views.slip_receive, name="slip_receive"),
    path("handover/slips/<int:slip_id>/confirm/", views.slip_confirm, name="slip_confirm"),
    path("usb/", views.usb_list, name="usb_list"),
    path("usb/register/", views.usb_register, name="usb_register"),
    path("usb/ledger.pdf", views.usb_ledger_pdf, name="usb_ledger_pdf"),
    path("usb/ledger.xlsx", views.usb_ledger_xlsx, name="usb_ledger_xlsx"),
    path("usb/<int:stick_id>/", views.usb_detail, name="usb_detail"),
    path("usb/<int:stick_id>/lend/", views.usb_lend, name="usb_lend"),
    path("usb/<int:stick_id>/return/", views.usb_return, name="usb_return"),
    path("usb/<int:stick_id>/inspect/", views.usb_inspect, name="usb_inspect"),
    path("usb/<int:stick_id>/wipe/", views.usb_wipe, name="usb_wipe"),
]

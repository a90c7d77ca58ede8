from django.urls import path

from . import views

app_name = "erasure"
urlpatterns = [
    path("closing/erasure/", views.erasure_index, name="index"),
    path("closing/erasure/<slug:code>/", views.erasure_page, name="erasure"),
    path("closing/erasure/<slug:code>/start/", views.erasure_start, name="start"),
    path(
        "closing/erasure/<slug:code>/witness/sign-in/",
        views.witness_sign_in,
        name="witness_sign_in",
    ),
    path("closing/erasure/<slug:code>/witness/code/", views.witness_code, name="witness_code"),
    path("closing/erasure/<slug:code>/run/", views.erasure_run, name="run"),
    path("closing/erasure/<slug:code>/package/", views.certificate_package, name="package"),
    path(
        "closing/erasure/<slug:code>/certificate.pdf",
        views.certificate_pdf_download,
        name="certificate_pdf",
    ),
    path("closing/certificates/", views.certificates, name="certificates"),
    path("closing/certificates/import/", views.certificate_import, name="certificate_import"),
    path("closing/certificates/witness-code/", views.witness_code_issue, name="witness_code_issue"),
    path(
        "closing/certificates/<slug:code>/certificate.pdf",
        views.ward_certificate_pdf,
        name="ward_certificate_pdf",
    ),
]

from django.urls import include, path

urlpatterns = [
    path("", include("genchi.web.urls")),
    path("", include("genchi.accounts.urls")),
    path("", include("genchi.parties.urls")),
    path("", include("genchi.compliance.urls")),
    path("", include("genchi.intake.urls")),
    path("", include("genchi.transfer.urls")),
    path("", include("genchi.fieldwork.urls")),
    path("", include("genchi.tablet.urls")),
]

handler400 = "genchi.web.views.bad_request"
handler403 = "genchi.web.views.permission_denied"
handler404 = "genchi.web.views.page_not_found"
handler500 = "genchi.web.views.server_error"

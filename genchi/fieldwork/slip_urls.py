"""The contact slips' URLs (連絡票), apart from fieldwork.urls so that the visit pages and
the slips grow without touching each other."""

from django.urls import path

from . import slip_views

app_name = "slips"
urlpatterns = [
    path(
        "fieldwork/cases/<slug:code>/<str:case_ref>/slip.pdf",
        slip_views.case_slip,
        name="case_slip",
    ),
    path("fieldwork/slips/<slug:code>/", slip_views.route_slips, name="route_slips"),
]

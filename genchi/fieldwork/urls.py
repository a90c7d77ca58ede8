from django.urls import path

from . import closing_views, views

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
    path(
        "fieldwork/cases/<slug:code>/<str:case_ref>/visits/new/",
        views.visit_new,
        name="visit_new",
    ),
    path(
        "fieldwork/cases/<slug:code>/<str:case_ref>/review/",
        views.case_review,
        name="case_review",
    ),
    path("fieldwork/photos/<int:photo_id>/", views.visit_photo, name="visit_photo"),
    path("fieldwork/progress/<slug:code>/", views.progress, name="progress"),
    path("fieldwork/close/<slug:code>/", closing_views.close_page, name="close"),
    path("fieldwork/close/<slug:code>/start/", closing_views.close_start, name="close_start"),
    path(
        "fieldwork/close/<slug:code>/<int:closing_id>/report.<str:kind>",
        closing_views.report_download,
        name="report_download",
    ),
]

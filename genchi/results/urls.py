from django.urls import path

from . import views

app_name = "results"
urlpatterns = [
    path("results/", views.result_index, name="index"),
    path("results/<slug:code>/", views.result_summary, name="summary"),
    path("results/<slug:code>/export.csv", views.result_export_csv, name="export_csv"),
    path("results/<slug:code>/export.xlsx", views.result_export_xlsx, name="export_xlsx"),
    path("results/photos/<int:result_photo_id>/", views.photo, name="photo"),
]

from django.urls import path

from . import views

app_name = "intake"
urlpatterns = [
    path("cases/", views.case_list, name="case_list"),
    path("cases/<str:ref>/", views.case_detail, name="case_detail"),
    path("cases/<str:ref>/address/", views.case_correct_address, name="case_correct_address"),
    path("intake/import/", views.import_start, name="import_start"),
    path("intake/import/<int:run_id>/", views.import_run, name="import_run"),
    path("intake/import/<int:run_id>/progress/", views.import_progress, name="import_progress"),
    path("intake/import/<int:run_id>/mapping/", views.import_mapping, name="import_mapping"),
    path("intake/import/<int:run_id>/commit/", views.import_commit, name="import_commit"),
    path("intake/import/<int:run_id>/check/", views.import_check, name="import_check"),
    path("intake/import/<int:run_id>/errors.csv", views.import_errors, name="import_errors"),
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/new/", views.batch_create, name="batch_create"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:batch_id>/add/", views.batch_add_cases, name="batch_add_cases"),
    path("batches/<int:batch_id>/fill/", views.batch_fill, name="batch_fill"),
    path("batches/<int:batch_id>/remove/", views.batch_remove_cases, name="batch_remove_cases"),
    path("batches/<int:batch_id>/seal/", views.batch_seal, name="batch_seal"),
    path("batches/<int:batch_id>/delete/", views.batch_delete, name="batch_delete"),
]

from django.urls import path

from . import views

app_name = "evaluation"
urlpatterns = [
    path("evaluation/", views.evaluation_index, name="index"),
    path("evaluation/export.xlsx", views.evaluation_xlsx, name="export_xlsx"),
    path("evaluation/<slug:code>/", views.contract_follow_up, name="contract"),
    path("evaluation/<slug:code>/import/", views.follow_up_import, name="import"),
    path("evaluation/<slug:code>/contacts/", views.follow_up_add, name="add"),
]

from django.urls import path

from . import views

app_name = "compliance"
urlpatterns = [
    path("audit/", views.log, name="log"),
    path("audit/check/", views.check_start, name="check_start"),
    path("audit/check/status/", views.check_status, name="check_status"),
]

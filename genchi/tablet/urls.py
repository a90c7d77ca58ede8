from django.urls import path

from . import api, views

app_name = "tablet"
urlpatterns = [
    path("tablet/", views.app, name="app"),
    path("tablet/sw.js", views.service_worker, name="service_worker"),
    path("tablet/manifest.webmanifest", views.manifest, name="manifest"),
    path("tablet/strings.json", views.strings, name="strings"),
    path("tablet/api/enrol/", api.enrol, name="api_enrol"),
    path("tablet/api/enrol/status/", api.enrol_status, name="api_enrol_status"),
    path("tablet/api/challenge/", api.challenge, name="api_challenge"),
    path("tablet/api/signin/", api.signin, name="api_signin"),
    path("tablet/api/sync/down/", api.sync_down, name="api_sync_down"),
    path("tablet/api/sync/up/", api.sync_up, name="api_sync_up"),
    path("tablet/devices/", views.devices, name="devices"),
    path("tablet/devices/<int:device_id>/revoke/", views.device_revoke, name="device_revoke"),
]

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("signin/", views.login_view, name="login"),
    path("signin/second-factor/", views.second_factor, name="second_factor"),
    path("signout/", views.logout_view, name="logout"),
]

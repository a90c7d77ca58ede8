from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("signin/", views.login_view, name="login"),
    path("signin/second-factor/", views.second_factor, name="second_factor"),
    path("signin/new-password/", views.new_password, name="new_password"),
    path("account/password/", views.password_change, name="password_change"),
    path("signout/", views.logout_view, name="logout"),
]

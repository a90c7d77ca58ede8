from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "genchi.web"
    verbose_name = "画面"

from django.apps import AppConfig


class FieldworkConfig(AppConfig):
    name = "genchi.fieldwork"
    verbose_name = "現地調査"

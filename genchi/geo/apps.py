from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "genchi.geo"
    verbose_name = "住所"

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "genchi.jobs"
    verbose_name = "ジョブ"

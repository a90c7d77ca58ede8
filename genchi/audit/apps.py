from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "genchi.audit"
    verbose_name = "監査ログ"

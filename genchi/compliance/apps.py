from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """What the auditors check: the log page today; erasure certificates and the closing
    report of a contract join it."""

    name = "genchi.compliance"
    verbose_name = "監査と完了"

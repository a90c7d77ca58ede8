from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """What the auditors check: the log page today; erasure certificates and the closing
    report of a contract join it."""

    name = "genchi.compliance"
    verbose_name = "監査と完了"

    def ready(self) -> None:
        from genchi.core.demo import register_demo_step
        from genchi.transfer.handlers import register_receiver, register_source

        from .demo import fill_demo_compliance
        from .package_handlers import incident_receiver, incident_source

        # Incidents told to the other side's Genchi (S19): the `incident` package kind.
        register_source(incident_source)
        register_receiver(incident_receiver)

        # After the erasure helper's step (100): the checklist's inspector answers, an
        # on-site audit and the follow-up of the returned results (issue 17).
        register_demo_step("compliance-evaluation", fill_demo_compliance, order=101)

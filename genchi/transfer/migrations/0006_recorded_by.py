"""The person who made a record is `by` on every model (genchi.core.models.RecordedBy)."""

from django.conf import settings
from django.db import migrations

from genchi.core.migrating import onto_recorded_by


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("transfer", "0005_package_digest"),
    ]

    operations = onto_recorded_by(
        {
            "organisationkeypair": "created_by",
            "partnerkeycard": "imported_by",
            "handoverslip": "issued_by",
            "usbstick": "registered_by",
            "stickloan": "lent_by",
        },
        already_by=("package",),
    )

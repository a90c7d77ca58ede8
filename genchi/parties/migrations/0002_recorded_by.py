"""The person who made a record is `by` on every model (genchi.core.models.RecordedBy)."""

from django.conf import settings
from django.db import migrations

from genchi.core.migrating import onto_recorded_by


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("parties", "0001_initial"),
    ]

    operations = onto_recorded_by({"designation": "designated_by"})

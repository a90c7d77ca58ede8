"""The person who made a record is `by` on every model (genchi.core.models.RecordedBy)."""

from django.conf import settings
from django.db import migrations

from genchi.core.migrating import onto_recorded_by


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("intake", "0004_import_run_job"),
    ]

    operations = onto_recorded_by(
        {"batch": "created_by", "importrun": "created_by", "mappingpreset": "created_by"}
    )

"""The person who made a record is `by` on every model (genchi.core.models.RecordedBy):
renamed in place, so every row keeps its value."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def recorded_by():  # the field as genchi.core.models.RecordedBy defines it now
    return models.ForeignKey(
        blank=True,
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
        verbose_name="記録者",
    )


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("intake", "0004_import_run_job"),
    ]

    operations = [
        migrations.RenameField(model_name="batch", old_name="created_by", new_name="by"),
        migrations.RenameField(model_name="importrun", old_name="created_by", new_name="by"),
        migrations.RenameField(model_name="mappingpreset", old_name="created_by", new_name="by"),
        migrations.AlterField(
            model_name="batch",
            name="by",
            field=recorded_by(),
        ),
        migrations.AlterField(
            model_name="importrun",
            name="by",
            field=recorded_by(),
        ),
        migrations.AlterField(
            model_name="mappingpreset",
            name="by",
            field=recorded_by(),
        ),
    ]

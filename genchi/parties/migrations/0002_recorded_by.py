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
        ("parties", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="designation", old_name="designated_by", new_name="by"),
        migrations.AlterField(
            model_name="designation",
            name="by",
            field=recorded_by(),
        ),
    ]

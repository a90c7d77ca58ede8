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
        ("transfer", "0005_package_digest"),
    ]

    operations = [
        migrations.RenameField(
            model_name="organisationkeypair", old_name="created_by", new_name="by"
        ),
        migrations.RenameField(model_name="partnerkeycard", old_name="imported_by", new_name="by"),
        migrations.RenameField(model_name="handoverslip", old_name="issued_by", new_name="by"),
        migrations.RenameField(model_name="usbstick", old_name="registered_by", new_name="by"),
        migrations.RenameField(model_name="stickloan", old_name="lent_by", new_name="by"),
        migrations.AlterField(
            model_name="handoverslip",
            name="by",
            field=recorded_by(),
        ),
        migrations.AlterField(
            model_name="organisationkeypair",
            name="by",
            field=recorded_by(),
        ),
        migrations.AlterField(
            model_name="package",
            name="by",
            field=recorded_by(),
        ),
        migrations.AlterField(
            model_name="partnerkeycard",
            name="by",
            field=recorded_by(),
        ),
        migrations.AlterField(
            model_name="stickloan",
            name="by",
            field=recorded_by(),
        ),
        migrations.AlterField(
            model_name="usbstick",
            name="by",
            field=recorded_by(),
        ),
    ]

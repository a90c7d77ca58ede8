"""A designation ends at a moment, not on a date (issue 12): a designation that ended on
a day stays in force to the end of that day, so its end becomes the next midnight."""

import datetime as dt

from django.db import migrations, models
from django.utils import timezone


def ends_on_to_ended_at(apps, schema_editor):
    Designation = apps.get_model("parties", "Designation")
    tz = timezone.get_default_timezone()
    for row in Designation.objects.using(schema_editor.connection.alias).exclude(ends_on=None):
        next_day = row.ends_on + dt.timedelta(days=1)
        row.ended_at = dt.datetime.combine(next_day, dt.time.min, tzinfo=tz)
        row.save(update_fields=["ended_at"])


def ended_at_to_ends_on(apps, schema_editor):
    Designation = apps.get_model("parties", "Designation")
    for row in Designation.objects.using(schema_editor.connection.alias).exclude(ended_at=None):
        row.ends_on = timezone.localtime(row.ended_at).date()
        row.save(update_fields=["ends_on"])


class Migration(migrations.Migration):
    dependencies = [("parties", "0002_recorded_by")]

    operations = [
        migrations.AddField(
            model_name="designation",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="指定解除"),
        ),
        migrations.RunPython(ends_on_to_ended_at, ended_at_to_ends_on),
        migrations.RemoveField(model_name="designation", name="ends_on"),
    ]

"""Incidents travel between installations (S19): each has an id of its own, kept by both
sides; a received incident keeps the version it holds and the sender's number; a step
says whether it came from the other side and by whom."""

import uuid

from django.db import migrations, models


def give_ids(apps, schema_editor):
    Incident = apps.get_model("compliance", "Incident")
    for incident in Incident.objects.only("pk").iterator():
        Incident.objects.filter(pk=incident.pk).update(uid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_checklistanswer_onsiteaudit_auditaction"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="uid",
            field=models.UUIDField(null=True, editable=False, verbose_name="事故報告ID"),
        ),
        migrations.RunPython(give_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="incident",
            name="uid",
            field=models.UUIDField(
                default=uuid.uuid4, editable=False, unique=True, verbose_name="事故報告ID"
            ),
        ),
        migrations.AddField(
            model_name="incident",
            name="received_version",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="受け取った版"),
        ),
        migrations.AddField(
            model_name="incident",
            name="origin_label",
            field=models.CharField(blank=True, max_length=80, verbose_name="相手方の番号"),
        ),
        migrations.AddField(
            model_name="incident",
            name="received_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="最後に受け取った日時"),
        ),
        migrations.AddField(
            model_name="incidententry",
            name="received",
            field=models.BooleanField(default=False, verbose_name="相手方から受領"),
        ),
        migrations.AddField(
            model_name="incidententry",
            name="by_name",
            field=models.CharField(blank=True, max_length=100, verbose_name="実施者"),
        ),
    ]

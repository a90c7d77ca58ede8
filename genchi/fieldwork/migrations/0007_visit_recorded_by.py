# A visit names who entered it through RecordedBy (`by`), like every other record.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fieldwork", "0006_survey_closing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="visit", old_name="recorded_by", new_name="by"),
        migrations.AlterField(
            model_name="visit",
            name="by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="記録者",
            ),
        ),
    ]

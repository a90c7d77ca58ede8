# The outcome columns take the result package's codes (genchi.core.outcomes), the longest
# of which ("whereabouts_unknown") needs more than 16 characters.
from django.db import migrations, models

CHOICES = [
    ("resident_confirmed", "居住確認"),
    ("resident_presumed", "居住推定"),
    ("not_resident", "不居住"),
    ("whereabouts_unknown", "所在不明"),
    ("not_surveyable", "調査不能"),
]


class Migration(migrations.Migration):
    dependencies = [("fieldwork", "0007_visit_recorded_by")]

    operations = [
        migrations.AlterField(
            model_name="surveycase",
            name="outcome",
            field=models.CharField(
                blank=True, choices=CHOICES, db_index=True, max_length=24, verbose_name="調査結果"
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="outcome",
            field=models.CharField(choices=CHOICES, max_length=24, verbose_name="調査結果"),
        ),
    ]

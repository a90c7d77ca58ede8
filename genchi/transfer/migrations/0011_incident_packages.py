"""Packages of kind `incident`: an incident told to the other side's Genchi (S19)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transfer", "0010_handover_time_on_both_slips"),
    ]

    operations = [
        migrations.AlterField(
            model_name="package",
            name="kind",
            field=models.CharField(
                choices=[
                    ("cases", "調査対象者データ"),
                    ("results", "調査結果データ"),
                    ("certificate", "消去証明書"),
                    ("incident", "事故報告"),
                ],
                max_length=16,
                verbose_name="種類",
            ),
        ),
    ]

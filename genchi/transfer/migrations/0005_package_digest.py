"""The package digest (SHA-256 of the signed manifest) is called `digest`, not `sha256`:
it is not the hash of the encrypted file. Renamed in place, so every row keeps its value."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transfer", "0004_handover_job"),
    ]

    operations = [
        migrations.RenameField(model_name="package", old_name="sha256", new_name="digest"),
        migrations.RenameField(model_name="handoverslip", old_name="sha256", new_name="digest"),
        migrations.AlterField(
            model_name="package",
            name="digest",
            field=models.CharField(max_length=64, verbose_name="ダイジェスト"),
        ),
        migrations.AlterField(
            model_name="handoverslip",
            name="digest",
            field=models.CharField(max_length=64, verbose_name="ダイジェスト"),
        ),
    ]

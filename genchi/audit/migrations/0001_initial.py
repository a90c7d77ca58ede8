from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(unique=True, verbose_name="連番")),
                ("at", models.DateTimeField(db_index=True, verbose_name="日時")),
                ("actor_id", models.BigIntegerField(blank=True, db_index=True, null=True, verbose_name="操作者ID")),
                ("actor", models.CharField(blank=True, max_length=150, verbose_name="操作者")),
                ("actor_organisation", models.CharField(blank=True, max_length=64, verbose_name="操作者の組織")),
                ("ip", models.CharField(blank=True, max_length=64, verbose_name="接続元")),
                ("channel", models.CharField(blank=True, max_length=16, verbose_name="経路")),
                ("action", models.CharField(db_index=True, max_length=64, verbose_name="操作")),
                ("object_type", models.CharField(blank=True, max_length=64, verbose_name="対象の種類")),
                ("object_id", models.CharField(blank=True, max_length=64, verbose_name="対象ID")),
                ("contract_code", models.CharField(blank=True, db_index=True, max_length=64, verbose_name="契約")),
                ("detail", models.JSONField(blank=True, default=dict, verbose_name="詳細")),
                ("prev_hash", models.CharField(max_length=64)),
                ("entry_hash", models.CharField(max_length=64, unique=True)),
            ],
            options={"ordering": ["seq"], "verbose_name": "監査ログ"},
        ),
    ]

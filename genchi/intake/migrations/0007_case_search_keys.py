from django.db import migrations, models

CHUNK = 2000


def fill_search_keys(apps, schema_editor):
    """Existing cases get their name and taxpayer-number search keys: each row is decrypted
    (under its contract's ward key), hashed, and only the hashes are written back."""
    from genchi.intake.search import name_key, taxpayer_key

    Case = apps.get_model("intake", "Case")
    db = schema_editor.connection.alias
    last = 0
    while True:
        rows = list(
            Case.objects.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .only("pk", "ref", "contract_id", "name", "taxpayer_no")[:CHUNK]
        )
        if not rows:
            return
        for case in rows:
            case.name_key = name_key(case.contract_id, case.name)
            case.taxpayer_key = taxpayer_key(case.contract_id, case.taxpayer_no)
        Case.objects.using(db).bulk_update(rows, ["name_key", "taxpayer_key"], batch_size=500)
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0006_encrypted_values_bound_to_rows"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="name_key",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddField(
            model_name="case",
            name="taxpayer_key",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["contract", "pref", "city"], name="case_contract_area"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["contract", "status"], name="case_contract_status"),
        ),
        migrations.RunPython(fill_search_keys, migrations.RunPython.noop),
    ]

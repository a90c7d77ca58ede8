from django.db import migrations, models

CHUNK = 2000


def fill_search_keys(apps, schema_editor):
    """Existing cases get their name and taxpayer-number search keys: each row's two values
    are decrypted (under its contract's ward key), hashed, and only the hashes written."""
    from genchi.intake.search import name_key, taxpayer_key

    Case = apps.get_model("intake", "Case")
    connection = schema_editor.connection
    open_name = Case._meta.get_field("name").open_for
    open_number = Case._meta.get_field("taxpayer_no").open_for
    table = connection.ops.quote_name(Case._meta.db_table)
    update = f"UPDATE {table} SET name_key = %s, taxpayer_key = %s WHERE id = %s"  # noqa: S608
    rows = Case.objects.using(connection.alias).order_by("pk")
    last = 0
    while True:
        chunk = list(
            rows.filter(pk__gt=last).values_list("pk", "contract_id", "ref", "name", "taxpayer_no")[
                :CHUNK
            ]
        )
        if not chunk:
            return
        keys = []
        for pk, contract_id, ref, name, number in chunk:
            name = open_name(contract_id, ref, name) if name else ""
            number = open_number(contract_id, ref, number) if number else ""
            keys.append((name_key(contract_id, name), taxpayer_key(contract_id, number), pk))
        # Plain UPDATEs by id: bulk_update's CASE expressions cost more than the hashing.
        with connection.cursor() as cursor:
            cursor.executemany(update, keys)
        last = chunk[-1][0]


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

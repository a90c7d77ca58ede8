# Organisation secret key files wrapped before the vault's versioned format get its legacy
# version byte, so the vault can tell them apart and still read them (genchi.vault.encryption).

from django.db import migrations
from django.db.migrations.exceptions import IrreversibleError

LEGACY = b"\x00"


def mark_legacy_secrets(apps, schema_editor):
    OrganisationKeyPair = apps.get_model("transfer", "OrganisationKeyPair")
    for row in OrganisationKeyPair.objects.only("secret_blob"):
        row.secret_blob = LEGACY + bytes(row.secret_blob)
        row.save(update_fields=["secret_blob"])


def unmark_legacy_secrets(apps, schema_editor):
    OrganisationKeyPair = apps.get_model("transfer", "OrganisationKeyPair")
    for row in OrganisationKeyPair.objects.only("secret_blob"):
        blob = bytes(row.secret_blob)
        if blob[:1] != LEGACY:
            raise IrreversibleError("secrets wrapped in the new format cannot be turned back")
        row.secret_blob = blob[1:]
        row.save(update_fields=["secret_blob"])


class Migration(migrations.Migration):

    dependencies = [
        ('transfer', '0002_package_without_batch_link'),
    ]

    operations = [
        migrations.RunPython(mark_legacy_secrets, unmark_legacy_secrets),
    ]

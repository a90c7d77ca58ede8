# A data key belongs to a scope (D1): one organisation's side of a contract, or an
# organisation alone. Existing contract keys become the ward's, unless the installation
# holds only the contractor's data of that contract (a contractor's Genchi).

import django.db.models.deletion
from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

LEGACY = b"\x00"


def give_existing_keys_a_holder(apps, schema_editor):
    DataKey = apps.get_model("vault", "DataKey")
    Case = apps.get_model("intake", "Case")
    SurveyCase = apps.get_model("fieldwork", "SurveyCase")
    for key in DataKey.objects.select_related("contract"):
        contract = key.contract
        contractors_only = (
            SurveyCase.objects.filter(contract=contract).exists()
            and not Case.objects.filter(contract=contract).exists()
        )
        key.organisation_id = contract.contractor_id if contractors_only else contract.ward_id
        # The vault tells keys wrapped before its versioned format by this legacy byte.
        wrapped = bytes(key.wrapped_key)
        key.wrapped_key = LEGACY + wrapped if wrapped else b""
        key.save(update_fields=["organisation", "wrapped_key"])


def take_back(apps, schema_editor):
    DataKey = apps.get_model("vault", "DataKey")
    for key in DataKey.objects.all():
        wrapped = bytes(key.wrapped_key)
        if key.contract_id is None or (wrapped and wrapped[:1] != LEGACY):
            raise IrreversibleError("data keys made after scopes cannot be turned back")
        key.wrapped_key = wrapped[1:]
        key.save(update_fields=["wrapped_key"])


class Migration(migrations.Migration):

    dependencies = [
        ('vault', '0001_initial'),
        ('parties', '0001_initial'),
        ('intake', '0002_import_runs'),
        ('fieldwork', '0001_initial'),
    ]

    operations = [
        migrations.RenameModel('ContractKey', 'DataKey'),
        migrations.AlterModelOptions(
            name='datakey',
            options={'ordering': ['created_at'], 'verbose_name': 'データ鍵'},
        ),
        migrations.AddField(
            model_name='datakey',
            name='organisation',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='data_keys', to='parties.organisation', verbose_name='組織'),
        ),
        migrations.AlterField(
            model_name='datakey',
            name='contract',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='data_keys', to='parties.contract', verbose_name='契約'),
        ),
        migrations.RunPython(give_existing_keys_a_holder, take_back),
    ]

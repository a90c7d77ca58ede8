# Every data key has its organisation (filled in by 0002), so the column becomes required.
# A migration of its own: PostgreSQL cannot alter a table with updates pending in the
# same transaction.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('vault', '0002_data_key_scopes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='datakey',
            name='organisation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='data_keys', to='parties.organisation', verbose_name='組織'),
        ),
    ]

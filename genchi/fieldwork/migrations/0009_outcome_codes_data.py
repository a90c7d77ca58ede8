# Cases and visits stored with fieldwork's former outcome codes take the result package's
# (one vocabulary, genchi.core.outcomes); going back restores the former codes. A separate
# migration from the widening, so PostgreSQL never alters a table with updates pending.
from django.db import migrations

FORMER_TO_CODE = {
    "confirmed": "resident_confirmed",
    "presumed": "resident_presumed",
    "not_living": "not_resident",
    "not_found": "whereabouts_unknown",
    "impossible": "not_surveyable",
}


def _recode(apps, schema_editor, mapping: dict[str, str]) -> None:
    alias = schema_editor.connection.alias
    for name in ("SurveyCase", "Visit"):
        rows = apps.get_model("fieldwork", name).objects.using(alias)
        for old, new in mapping.items():
            rows.filter(outcome=old).update(outcome=new)


def forward(apps, schema_editor):
    _recode(apps, schema_editor, FORMER_TO_CODE)


def backward(apps, schema_editor):
    _recode(apps, schema_editor, {new: old for old, new in FORMER_TO_CODE.items()})


class Migration(migrations.Migration):
    dependencies = [("fieldwork", "0008_outcome_codes_widened")]

    operations = [migrations.RunPython(forward, backward)]

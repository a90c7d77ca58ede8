"""Who made a record: one abstract base (`genchi.core.models.RecordedBy`) holds the
foreign key for every model that has one, and the migrations that moved the models onto
it kept every row's value."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings

from genchi.core.models import RecordedBy
from genchi.jobs.models import JobRow
from tests import scratch_db


def test_every_model_naming_its_author_uses_the_base():
    """A person foreign key without a reverse accessor is a "who did it" field: a model
    that has one records its author through RecordedBy (a later actor, such as who sealed
    a batch, sits beside `by` on the same model). A job row names who asked for its job
    through its own base (`JobRow.job_requested_by`)."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    job_fields = {field.name for field in JobRow._meta.fields}
    outside = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model.__module__.startswith("genchi.") and not issubclass(model, RecordedBy)
        for field in model._meta.fields
        if not (issubclass(model, JobRow) and field.name in job_fields)
        and field.is_relation
        and field.related_model is user_model
        and field.remote_field.related_name == "+"
    ]
    assert not outside, f"record the author with genchi.core.models.RecordedBy: {outside}"


@pytest.mark.django_db
def test_moving_onto_the_base_keeps_every_author(tmp_path, django_db_blocker):
    with django_db_blocker.unblock(), scratch_db.database(tmp_path / "m.sqlite3") as alias:
        made = scratch_db.rows_before_renames(alias)
        scratch_db.migrate_to_latest(alias)
        for table, row_id in made["ids"].items():
            assert scratch_db.column(alias, table, "by_id", row_id) == made["person"], table

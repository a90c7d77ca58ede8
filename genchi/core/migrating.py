"""Migration operations shared by several apps' migrations, frozen as they were written.

A migration must keep meaning what it meant the day it was written, so nothing here is
ever changed: a later change adds a new function beside the old one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations, models


def onto_recorded_by(renames: dict[str, str], *, already_by: tuple[str, ...] = ()) -> list:
    """Move models onto `genchi.core.models.RecordedBy` (as it was defined in issue #11):
    rename each model's author field to `by` in place (`renames`: model → old name), so
    every row keeps its value, then give every `by` the base's definition (`already_by`:
    models whose field was called `by` already)."""
    operations: list = [
        migrations.RenameField(model_name=model, old_name=old, new_name="by")
        for model, old in renames.items()
    ]
    for model in [*renames, *already_by]:
        operations.append(
            migrations.AlterField(
                model_name=model,
                name="by",
                field=models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=models.PROTECT,
                    related_name="+",
                    to=settings.AUTH_USER_MODEL,
                    verbose_name="記録者",
                ),
            )
        )
    return operations

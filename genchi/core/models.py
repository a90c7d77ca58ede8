"""Abstract bases for what many models repeat. No tables of their own.

`RecordedBy` holds the person who made a record (`by`): a foreign key to the user that
PROTECTs (people are deactivated, never deleted, so a record always names its author),
is empty when the installation itself acted (the command line without `--user`, the
demo), and has no reverse accessor (nobody asks a person for "their" rows this way).
`RecordedByName` keeps, beside it, the name as written on the record (`by_name`), which
stays true when the person's account is renamed and may name someone without an account.
A later actor on the same record (who sealed a batch, received a slip) is a field made by
`actor()`, the same foreign key under another name.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def actor(verbose_name: str | None = None) -> models.ForeignKey:
    """A foreign key to the person who did something to the record (see above)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
    )


class RecordedBy(models.Model):
    by = actor(_("記録者"))

    class Meta:
        abstract = True


class RecordedByName(RecordedBy):
    by_name = models.CharField(_("実施者"), max_length=100, blank=True)

    class Meta:
        abstract = True

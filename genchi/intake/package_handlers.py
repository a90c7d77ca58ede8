"""The ward sends its sealed batches as `cases` packages (registered in IntakeConfig.ready).

J3: only the four items below and the opaque case reference ever leave the ward; the
allow-list is here, with the cases it protects (tests/transfer/test_allow_list.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from django.utils.translation import gettext as _

from genchi.transfer.handlers import Sendable
from genchi.transfer.services import Refused

from .models import Batch, BatchItem, Case

# J3: the only Case fields that may ever reach a package, plus the opaque reference.
CASE_ALLOW_LIST: tuple[str, ...] = ("postal_code", "address", "building_line", "name")
CASE_REF_FIELD = "ref"  # Case.ref travels as "case_ref"


def case_record(case: Case) -> dict[str, str]:
    """The package record of one case: the allow-list, nothing else."""
    row = {"case_ref": getattr(case, CASE_REF_FIELD)}
    for field in CASE_ALLOW_LIST:
        row[field] = str(getattr(case, field) or "")
    return row


def batch_code(batch: Batch) -> str:
    return f"B{batch.number}"


class SealedBatches:
    """Sealed batches of a contract are what the ward may send; sending hands them over."""

    kind = "cases"
    side = "ward"

    def sendable(self, contracts) -> list[Sendable]:
        batches = (
            Batch.objects.filter(contract__in=contracts, status=Batch.Status.SEALED)
            .select_related("contract__ward", "contract__contractor")
            .annotate(case_count=Count("items"))
            .order_by("contract__code", "number")
        )
        return [self._item(b, b.case_count) for b in batches]

    def get(self, key: int) -> Sendable | None:
        batch = (
            Batch.objects.select_related("contract__ward", "contract__contractor")
            .filter(pk=key)
            .first()
        )
        return self._item(batch, batch.items.count()) if batch else None

    def check(self, item: Sendable) -> None:
        batch = Batch.objects.get(pk=item.key)
        if batch.status != Batch.Status.SEALED:
            raise Refused(
                "batch_not_sealed",
                _("封緘済みのバッチだけを書き出せます(現在: %(status)s)。")
                % {"status": batch.get_status_display()},
            )
        if not item.record_count:
            raise Refused("batch_empty", _("バッチに案件がありません。"))

    def records(self, item: Sendable) -> Iterator[dict[str, str]]:
        items = (
            BatchItem.objects.filter(batch_id=item.key).select_related("case").order_by("position")
        )
        for batch_item in items.iterator(chunk_size=200):
            yield case_record(batch_item.case)

    def mark_sent(self, item: Sendable, package) -> None:
        locked = Batch.objects.select_for_update(of=("self",), no_key=True).get(pk=item.key)
        if locked.status != Batch.Status.SEALED:
            raise Refused("batch_not_sealed", _("このバッチはすでに引き渡されています。"))
        Case.objects.filter(batch_items__batch=locked).update(status=Case.Status.HANDED_OVER)
        locked.status = Batch.Status.HANDED_OVER
        locked.save(update_fields=["status"])

    @staticmethod
    def _item(batch: Batch, count: int) -> Sendable:
        title = f" {batch.title}" if batch.title else ""
        return Sendable(
            key=batch.pk,
            contract=batch.contract,
            code=batch_code(batch),
            label=f"{batch}{title}",
            record_count=count,
            ready_at=batch.sealed_at,
        )


sealed_batches = SealedBatches()

"""Correcting a case's address by hand: the same checks as at intake apply."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from genchi.audit.chain import record

from .. import search
from ..columns import map_columns
from ..models import Batch, Case
from ..validation import ERROR, WARNING, RowChecker

EDITABLE_CASE_STATUSES = (Case.Status.IMPORTED, Case.Status.IN_BATCH)


@transaction.atomic
def correct_address(case: Case, *, address: str, building_line: str, postal_code: str = "") -> Case:
    """Re-normalise a corrected address; the same checks as at intake apply."""
    if case.status not in EDITABLE_CASE_STATUSES or _in_sealed_batch(case):
        raise ValidationError(_("引渡しの準備が済んだ案件の住所は変更できません。"))
    colmap = map_columns(["氏名", "郵便番号", "住所", "方書"])
    checker = RowChecker(
        colmap, contract_id=case.contract_id, home_city=case.contract.ward.home_city
    )
    result = checker.check(0, [case.name, postal_code, address, building_line])
    errors = [i.message for i in result.issues if i.level == ERROR]
    if errors:
        raise ValidationError(errors)
    clash = (
        Case.objects.filter(contract_id=case.contract_id, identity_key=result.identity_key)
        .exclude(pk=case.pk)
        .first()
    )
    if clash is not None:
        raise ValidationError(
            _("同じ人・同じ住所の案件がすでにあります(%(ref)s)。") % {"ref": clash.ref}
        )
    before_level = case.geocode_level
    v = result.values
    for name in ("address", "building_line", "postal_code", "town", "rest", "lat", "lng"):
        setattr(case, name, v[name])
    case.pref, case.city = v["pref"][:8], v["city"][:32]
    case.geocode_level = v["geocode_level"]
    case.identity_key = result.identity_key
    # The check above saw no taxpayer-number column: the keys come from the case itself.
    case.name_key = search.name_key(case.contract_id, case.name)
    case.taxpayer_key = search.taxpayer_key(case.contract_id, case.taxpayer_no)
    case.save()
    record(
        "case.address_corrected",
        obj=case,
        contract=case.contract,
        detail={
            "ref": case.ref,
            "level_before": before_level,
            "level_after": case.geocode_level,
            "warnings": [i.message for i in result.issues if i.level == WARNING][:5],
        },
    )
    return case


def _in_sealed_batch(case: Case) -> bool:
    return case.batch_items.exclude(batch__status=Batch.Status.DRAFT).exists()


def mark_results_received(case_ids: list[int]) -> int:
    """The survey's results of these handed-over cases have come back (results app)."""
    return Case.objects.filter(pk__in=case_ids, status=Case.Status.HANDED_OVER).update(
        status=Case.Status.RESULT_RECEIVED
    )

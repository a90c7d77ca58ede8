"""The contractor receives `cases` packages into its working copy of the cases (registered
in FieldworkConfig.ready); the handover app calls `receive` inside the import's
transaction, so a refusal here stores nothing."""

from __future__ import annotations

from django.utils.translation import gettext as _

from genchi.transfer.handlers import IncomingPackage
from genchi.transfer.services import Refused

from .addresses import address_fields, name_key
from .models import SurveyCase

CHUNK = 250


class ReceivedCases:
    kind = "cases"
    side = "contractor"

    def receive(self, incoming: IncomingPackage) -> int:
        pending: list[SurveyCase] = []
        seen: set[str] = set()
        stored = 0
        for row in incoming.records:
            ref = row["case_ref"]
            if ref in seen:
                raise Refused(
                    "duplicate_case", _("同じ案件番号が2回含まれています: %(ref)s") % {"ref": ref}
                )
            seen.add(ref)
            pending.append(
                SurveyCase(
                    contract=incoming.contract,
                    case_ref=ref,
                    postal_code=row["postal_code"],
                    address=row["address"],
                    building_line=row["building_line"],
                    name=row["name"],
                    received_in=incoming.package,
                    name_index=name_key(incoming.contract, row["name"]),
                    **address_fields(row["address"], row["postal_code"]),
                )
            )
            if len(pending) >= CHUNK:
                stored += _store(pending, incoming)
        return stored + _store(pending, incoming)


def _store(pending: list[SurveyCase], incoming: IncomingPackage) -> int:
    if not pending:
        return 0
    refs = [c.case_ref for c in pending]
    if SurveyCase.objects.filter(contract=incoming.contract, case_ref__in=refs).exists():
        raise Refused("duplicate_case", _("この契約ですでに受領している案件が含まれています。"))
    SurveyCase.objects.bulk_create(pending)
    count = len(pending)
    pending.clear()
    return count


received_cases = ReceivedCases()

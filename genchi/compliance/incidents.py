"""Incidents (S19, S20): recorded by either side of a contract, told to the ward at once,
then reported in writing, instructed by the ward, completed and closed.

Reads (`incidents_for`, `incident_for`, `open_incidents_for`) and writes (`record_incident`,
`add_entry`) are here together: the incident's life is one small state machine, and its
rules (who may write which step) read best next to each other.

Who: the ward's people and the contractor's office staff of the contract see its
incidents; the ward's writers and the contractor's office record one; the side that
recorded it reports in writing and completes instructions; only the ward instructs and
closes. On one installation the ward sees a new incident at once (its home page lists
open incidents); across installations, the side that recorded it sends a signed incident
package (`send_incident`; the kind's handlers are in `package_handlers.py`), sent again
after later steps, and the printed first report goes with it.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import CONTRACTOR_OFFICE, WARD_READERS, WARD_WRITERS, has_role
from genchi.audit.chain import record
from genchi.audit.refusals import record_refusal
from genchi.fieldwork import selectors as fieldwork_selectors
from genchi.intake import selectors as intake_selectors
from genchi.parties.models import Contract
from genchi.parties.selectors import contracts_for, office_contracts_for
from genchi.transfer import services as transfer

from .models import Incident, IncidentEntry

MAX_REFS = 1000
FOLDER, DOWNLOAD = "folder", "download"  # transfer's Package.Delivery values
_REF_SPLIT = re.compile(r"[\s,、,]+")

# Which side writes which step; the state each step leads to.
STEP_SIDE = {
    IncidentEntry.Kind.WRITTEN_REPORT: "raiser",
    IncidentEntry.Kind.COMPLETION: "raiser",
    IncidentEntry.Kind.INSTRUCTION: "ward",
    IncidentEntry.Kind.IMPROVEMENT_ORDER: "ward",
    IncidentEntry.Kind.CLOSING: "ward",
    IncidentEntry.Kind.NOTE: "either",
}
NEXT_STATE = {
    IncidentEntry.Kind.WRITTEN_REPORT: Incident.State.WRITTEN,
    IncidentEntry.Kind.INSTRUCTION: Incident.State.INSTRUCTED,
    IncidentEntry.Kind.IMPROVEMENT_ORDER: Incident.State.INSTRUCTED,
    IncidentEntry.Kind.CLOSING: Incident.State.CLOSED,
}


def side_of(user) -> str | None:
    if has_role(user, WARD_READERS):
        return Incident.Side.WARD
    if has_role(user, CONTRACTOR_OFFICE):
        return Incident.Side.CONTRACTOR
    return None


def _visible_contracts(user) -> QuerySet[Contract]:
    if has_role(user, WARD_READERS):
        return contracts_for(user)
    if has_role(user, CONTRACTOR_OFFICE):
        return office_contracts_for(user)
    return Contract.objects.none()


def may_record(user, contract: Contract) -> bool:
    if has_role(user, WARD_WRITERS):
        return contracts_for(user).filter(pk=contract.pk).exists()
    return has_role(user, CONTRACTOR_OFFICE) and (
        office_contracts_for(user).filter(pk=contract.pk).exists()
    )


def recordable_contracts(user) -> QuerySet[Contract]:
    if has_role(user, WARD_WRITERS):
        return contracts_for(user)
    if has_role(user, CONTRACTOR_OFFICE):
        return office_contracts_for(user)
    return Contract.objects.none()


def incidents_for(user) -> QuerySet[Incident]:
    return Incident.objects.filter(contract__in=_visible_contracts(user)).select_related(
        "contract", "by"
    )


def open_incidents_for(user) -> QuerySet[Incident]:
    return incidents_for(user).exclude(state=Incident.State.CLOSED)


def incident_for(user, incident_id: int) -> Incident:
    incident = incidents_for(user).filter(pk=incident_id).first()
    if incident is None:
        raise Http404("事故報告が見つかりません")
    return incident


def allowed_steps(user, incident: Incident) -> list[str]:
    """The steps this person may add to the incident now."""
    if not incident.is_open or not may_record(user, incident.contract):
        return []
    side = side_of(user)
    allowed = []
    for kind, who in STEP_SIDE.items():
        if (
            who == "either"
            or (who == "ward" and side == Incident.Side.WARD)
            or (who == "raiser" and side == incident.side)
        ):
            allowed.append(kind)
    return allowed


def parse_refs(text: str) -> list[str]:
    refs = [r for r in _REF_SPLIT.split(text.strip()) if r]
    return list(dict.fromkeys(refs))


def _check_refs(user, contract: Contract, refs: list[str]) -> None:
    if len(refs) > MAX_REFS:
        raise ValidationError(
            {"affected_refs": _("対象の案件は %(max)d 件までです。") % {"max": MAX_REFS}}
        )
    if not refs:
        return
    if side_of(user) == Incident.Side.WARD:
        known = set(
            intake_selectors.contract_cases(contract)
            .filter(ref__in=refs)
            .values_list("ref", flat=True)
        )
    else:
        known = set(
            fieldwork_selectors.survey_cases_for(user, contract)
            .filter(case_ref__in=refs)
            .values_list("case_ref", flat=True)
        )
    unknown = [r for r in refs if r not in known]
    if unknown:
        raise ValidationError(
            {
                "affected_refs": _("この契約にない参照番号です: %(refs)s")
                % {"refs": ", ".join(unknown[:10])}
            }
        )


@transaction.atomic
def record_incident(
    user,
    contract: Contract,
    *,
    kind: str,
    found_at: dt.datetime,
    found_by: str,
    summary: str,
    occurred_at: dt.datetime | None = None,
    first_actions: str = "",
    affected_refs: list[str] | None = None,
) -> Incident:
    """The first report (第一報): recorded, logged, and on the ward's home at once."""
    if not may_record(user, contract):
        raise PermissionDenied(_("この契約の事故報告を記録する権限がありません。"))
    refs = affected_refs or []
    _check_refs(user, contract, refs)
    if found_at > timezone.now() or (occurred_at and occurred_at > found_at):
        raise ValidationError(
            {"found_at": _("発見日時は現在より前、発生日時より後にしてください。")}
        )
    last = (
        Incident.objects.select_for_update(of=("self",), no_key=True)
        .filter(contract=contract)
        .aggregate(n=Max("number"))["n"]
    )
    incident = Incident.objects.create(
        contract=contract,
        number=(last or 0) + 1,
        side=side_of(user),
        kind=kind,
        occurred_at=occurred_at,
        found_at=found_at,
        found_by=found_by.strip()[:100],
        summary=summary.strip(),
        first_actions=first_actions.strip(),
        affected_refs=refs,
        by=user,
    )
    record(
        "incident.reported",
        obj=incident,
        contract=contract,
        detail={"number": incident.label, "kind": kind, "cases": len(refs), "side": incident.side},
    )
    return incident


@transaction.atomic
def add_entry(user, incident: Incident, *, kind: str, text: str) -> IncidentEntry:
    incident = Incident.objects.select_for_update(of=("self",), no_key=True).get(pk=incident.pk)
    if kind not in allowed_steps(user, incident):
        raise PermissionDenied(_("この段階の記録はできません。"))
    if not text.strip():
        raise ValidationError({"text": _("内容を入力してください。")})
    entry = IncidentEntry.objects.create(incident=incident, kind=kind, text=text.strip(), by=user)
    state = NEXT_STATE.get(kind)
    if state is not None:
        incident.state = state
        incident.closed_at = timezone.now() if state == Incident.State.CLOSED else None
        incident.save(update_fields=["state", "closed_at"])
    record(
        "incident.updated",
        obj=incident,
        contract=incident.contract,
        detail={"number": incident.label, "step": kind, "state": incident.state},
    )
    return entry


def send_incident(
    incident: Incident,
    out_dir: str | os.PathLike[str],
    *,
    by=None,
    delivery: str = FOLDER,
) -> transfer.ExportResult:
    """The incident as a signed package of kind `incident` for the other side's Genchi,
    encrypted to the contract's recipient key, with its handover slip: the first report
    and the steps recorded here so far. `by` None: the command line. Only an incident
    recorded on this installation is sent (the transfer refuses with `no_item` otherwise);
    the export is logged (`package.exported`), a refusal too."""
    refused = None
    if incident.received_version is not None:
        refused = transfer.Refused(
            "no_item", _("相手方から受け取った事故報告は、送り返すことはできません。")
        )
    elif by is not None and not may_record(by, incident.contract):
        refused = transfer.Refused(
            "not_allowed", _("この事故報告のパッケージを作成する権限がありません。")
        )
    if refused is not None:
        record_refusal(
            "package.export_refused",
            contract=incident.contract,
            detail={"code": refused.code, "kind": "incident", "item": incident.pk},
        )
        raise refused
    return transfer.send_item("incident", incident.pk, out_dir, by=by, delivery=delivery)

"""The `incident` package kind (S19, D10): an incident told to the other side's Genchi
when the ward and the contractor run separate installations (registered in
ComplianceConfig.ready).

Either side sends the incidents it recorded: the first report (kind, times, who found
it, what, first actions, the cases by reference, its number and id) and, when sent again
after later steps, the steps so far; the version is the number of those steps. The
handover has already checked the signature, the contract, sender and recipient, the
kind and that this package was never imported. The receiver checks what only this side
knows: the contract named inside, that the cases belong to the contract here, and that
the version is newer than the one held; it then creates the incident (same id: never a
duplicate) or adds the new steps, and it shows on the home pages like a local one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.fieldwork import selectors as fieldwork_selectors
from genchi.intake import selectors as intake_selectors
from genchi.package_format import Refused
from genchi.transfer.handlers import IncomingPackage, Sendable

from .incidents import NEXT_STATE
from .models import Incident, IncidentEntry

SCHEMA = "genchi/incident/v1"
MAX_REFS = 1000
MAX_STEPS = 200


def incident_record(incident: Incident) -> dict[str, Any]:
    """The package record of an incident recorded here, with its steps so far."""
    steps = [
        {
            "kind": entry.kind,
            "text": entry.text,
            "at": entry.at.isoformat(),
            "by": entry.by_name or (entry.by.full_name or entry.by.username if entry.by_id else ""),
        }
        for entry in incident.entries.filter(received=False).select_related("by")
    ]
    return {
        "schema": SCHEMA,
        "incident_id": str(incident.uid),
        "contract": incident.contract.code,
        "number": incident.number,
        "label": incident.label,
        "side": incident.side,
        "kind": incident.kind,
        "occurred_at": incident.occurred_at.isoformat() if incident.occurred_at else None,
        "found_at": incident.found_at.isoformat(),
        "found_by": incident.found_by,
        "summary": incident.summary,
        "first_actions": incident.first_actions,
        "affected_refs": list(incident.affected_refs),
        "version": len(steps),
        "steps": steps,
    }


class IncidentSource:
    kind = "incident"
    side = "either"  # each incident is sent by the side that recorded it

    def sendable(self, contracts: Any) -> list[Sendable]:
        rows = Incident.objects.filter(
            contract__in=contracts, received_version__isnull=True
        ).select_related("contract")
        return [self._item(row) for row in rows]

    def get(self, key: int) -> Sendable | None:
        row = Incident.objects.select_related("contract").filter(pk=key).first()
        return self._item(row) if row else None

    @staticmethod
    def _item(row: Incident) -> Sendable:
        return Sendable(
            key=row.pk,
            contract=row.contract,
            code=f"INC-{row.number:03d}",
            label=_("事故報告 %(label)s") % {"label": row.label},
            record_count=1,
            ready_at=row.created_at,
            side=row.side,
        )

    def check(self, item: Sendable) -> None:
        row = Incident.objects.get(pk=item.key)
        if row.received_version is not None:
            raise Refused(
                "no_item", _("相手方から受け取った事故報告は、送り返すことはできません。")
            )

    def records(self, item: Sendable) -> Iterator[Mapping[str, Any]]:
        yield incident_record(Incident.objects.select_related("contract").get(pk=item.key))

    def mark_sent(self, item: Sendable, package: Any) -> None:
        # An incident may be sent again after each step: nothing moves on, the
        # package's own row and log entry are the record of the sending.
        return None


def _when(value: Any, *, optional: bool = False) -> dt.datetime | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed


def _text(value: Any, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise ValueError(value)
    return value


def _shape_refused() -> Refused:
    return Refused(
        "incident_shape",
        _(
            "事故報告のパッケージには、読み取れる事故報告が1件だけ含まれます(項目が足りないか不正です)。"
        ),
    )


def _parse(data: Mapping[str, Any]) -> dict[str, Any]:
    """The record checked field by field; a refusal for anything missing or out of range."""
    try:
        if data.get("schema") != SCHEMA:
            raise ValueError("schema")
        kinds = set(IncidentEntry.Kind.values)
        steps = data["steps"]
        if not isinstance(steps, list) or len(steps) > MAX_STEPS:
            raise ValueError("steps")
        parsed_steps = []
        for step in steps:
            if not isinstance(step, Mapping) or step.get("kind") not in kinds:
                raise ValueError("step")
            parsed_steps.append(
                {
                    "kind": step["kind"],
                    "text": _text(step["text"], 8000, required=True),
                    "at": _when(step["at"]),
                    "by": _text(step.get("by", ""), 100),
                }
            )
        refs = data["affected_refs"]
        if (
            not isinstance(refs, list)
            or len(refs) > MAX_REFS
            or not all(isinstance(r, str) and 0 < len(r) <= 64 for r in refs)
        ):
            raise ValueError("refs")
        number, version = data["number"], data["version"]
        if type(number) is not int or number < 1 or type(version) is not int:
            raise ValueError("number")
        if version != len(parsed_steps) or data["side"] not in Incident.Side.values:
            raise ValueError("version")
        if data["kind"] not in Incident.Kind.values:
            raise ValueError("kind")
        return {
            "uid": uuid.UUID(str(data["incident_id"])),
            "contract": _text(data["contract"], 64),
            "label": _text(data.get("label", ""), 80),
            "side": data["side"],
            "kind": data["kind"],
            "occurred_at": _when(data["occurred_at"], optional=True),
            "found_at": _when(data["found_at"]),
            "found_by": _text(data["found_by"], 100, required=True),
            "summary": _text(data["summary"], 4000, required=True),
            "first_actions": _text(data["first_actions"], 4000),
            "affected_refs": list(dict.fromkeys(refs)),
            "version": version,
            "steps": parsed_steps,
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _shape_refused() from None


class IncidentReceiver:
    kind = "incident"
    side = "either"  # the side importing it

    def receive(self, incoming: IncomingPackage) -> int:
        contract = incoming.contract
        records = list(incoming.records)
        if len(records) != 1 or not isinstance(records[0], Mapping):
            raise _shape_refused()
        data = _parse(records[0])
        here = (
            Incident.Side.WARD
            if incoming.package.holder_id == contract.ward_id
            else Incident.Side.CONTRACTOR
        )
        self._check(contract, data, here)
        existing = (
            Incident.objects.select_for_update(of=("self",), no_key=True)
            .filter(uid=data["uid"])
            .first()
        )
        if existing is None:
            try:
                with transaction.atomic():
                    incident = self._create(incoming, data)
            except IntegrityError:  # the same incident imported at the same moment elsewhere
                raise Refused(
                    "incident_outdated",
                    _("この事故報告は同時に取り込まれています。一覧で確認してください。"),
                ) from None
            new_steps = data["steps"]
            action = "incident.received"
        else:
            self._check_update(contract, existing, data)
            incident = existing
            new_steps = data["steps"][existing.received_version :]
            action = "incident.updated_received"
        for step in new_steps:
            IncidentEntry.objects.create(
                incident=incident,
                kind=step["kind"],
                text=step["text"],
                at=step["at"],
                received=True,
                by_name=step["by"],
                by=incoming.package.by,
            )
            if incident.is_open and step["kind"] in NEXT_STATE:
                incident.state = NEXT_STATE[step["kind"]]
                if incident.state == Incident.State.CLOSED:
                    incident.closed_at = timezone.now()
        incident.received_version = data["version"]
        incident.received_at = timezone.now()
        incident.save(update_fields=["received_version", "received_at", "state", "closed_at"])
        record(
            action,
            obj=incident,
            contract=contract,
            detail={
                "number": incident.label,
                "origin": incident.origin_label,
                "incident_id": str(incident.uid),
                "version": data["version"],
                "steps": len(new_steps),
                "cases": len(data["affected_refs"]),
                "package_id": str(incoming.package.package_id),
            },
        )
        return 1

    @staticmethod
    def _create(incoming: IncomingPackage, data: dict[str, Any]) -> Incident:
        contract = incoming.contract
        last = (
            Incident.objects.select_for_update(of=("self",), no_key=True)
            .filter(contract=contract)
            .aggregate(n=Max("number"))["n"]
        )
        return Incident.objects.create(
            contract=contract,
            uid=data["uid"],
            number=(last or 0) + 1,
            side=data["side"],
            kind=data["kind"],
            occurred_at=data["occurred_at"],
            found_at=data["found_at"],
            found_by=data["found_by"],
            summary=data["summary"],
            first_actions=data["first_actions"],
            affected_refs=data["affected_refs"],
            received_version=0,
            origin_label=data["label"],
            by=incoming.package.by,
        )

    @staticmethod
    def _check(contract: Any, data: dict[str, Any], here: str) -> None:
        if data["contract"] != contract.code:
            raise Refused(
                "incident_other_contract",
                _(
                    "この事故報告は別の契約(%(named)s)のものです。契約 %(contract)s の事故報告ではありません。"
                )
                % {"named": data["contract"], "contract": contract.code},
            )
        if data["side"] == here:
            raise Refused(
                "incident_here",
                _(
                    "この事故報告は受け取る側(%(side)s)が記録したものとされています。取り込みません。"
                )
                % {"side": Incident.Side(here).label},
            )
        refs = data["affected_refs"]
        if here == Incident.Side.WARD:
            known = set(
                intake_selectors.contract_cases(contract)
                .filter(ref__in=refs)
                .values_list("ref", flat=True)
            )
        else:
            known = fieldwork_selectors.known_refs(contract, refs)
        unknown = [r for r in refs if r not in known]
        if unknown:
            raise Refused(
                "incident_refs",
                _("事故報告の対象の案件に、契約 %(contract)s にない参照番号があります: %(refs)s")
                % {"contract": contract.code, "refs": "、".join(unknown[:10])},
            )

    @staticmethod
    def _check_update(contract: Any, existing: Incident, data: dict[str, Any]) -> None:
        if existing.contract_id != contract.pk:
            raise Refused(
                "incident_other_contract",
                _("この事故報告IDは別の契約(%(named)s)の事故報告で使われています。")
                % {"named": existing.contract.code},
            )
        if existing.received_version is None:
            raise Refused(
                "incident_here",
                _(
                    "事故報告 %(label)s はこの Genchi で記録されたものです。"
                    "同じ Genchi で区と受託事業者が使う場合、パッケージの取り込みは不要です。"
                )
                % {"label": existing.label},
            )
        if data["version"] <= existing.received_version:
            raise Refused(
                "incident_outdated",
                _(
                    "事故報告 %(label)s は第%(held)d版(経過 %(held)d 件)まで取り込み済みです。"
                    "このパッケージは第%(version)d版で、新しくありません。"
                )
                % {
                    "label": existing.label,
                    "held": existing.received_version,
                    "version": data["version"],
                },
            )


incident_source = IncidentSource()
incident_receiver = IncidentReceiver()

"""The auditor's view of a whole contract: its history in order — intake, batches,
handovers with their slips, results, follow-up, the checklist, on-site audits, incidents
(erasure once the erasure app records it) — each step with its audit log entries, and
those entries checked as links of the chain.

Everything is read through the owning apps' selectors; no personal data is shown (files
by name and count, cases by number)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit import selectors as audit_selectors
from genchi.erasure import selectors as erasure_selectors
from genchi.evaluation import selectors as evaluation_selectors
from genchi.intake import selectors as intake_selectors
from genchi.parties.models import Contract
from genchi.results import selectors as results_selectors
from genchi.transfer import selectors as transfer_selectors

from .models import ChecklistAnswer, Incident, OnSiteAudit

# The log entries of a step that are about the contract but no single record of it.
STEP_ACTIONS = {
    "follow_up": ("followup.imported", "followup.import_refused"),
    "checklist": ("checklist.printed", "handling_report.printed"),
}


@dataclass
class Event:
    label: str
    at: dt.datetime | dt.date | None
    detail: str = ""
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (object_type, object_id)
    entries: list = field(default_factory=list)

    @property
    def when(self) -> str:
        if self.at is None:
            return ""
        if isinstance(self.at, dt.datetime):
            return timezone.localtime(self.at).strftime("%Y-%m-%d %H:%M")
        return self.at.isoformat()


@dataclass
class Step:
    code: str
    title: str
    events: list[Event]
    entries: list = field(default_factory=list)  # entries of the step about no one record

    @property
    def entry_count(self) -> int:
        return len(self.entries) + sum(len(e.entries) for e in self.events)


def _label(obj) -> str:
    return obj._meta.label_lower


def _intake(user, contract: Contract) -> Step:
    events = []
    for run in (
        intake_selectors.import_runs_for(user).filter(contract=contract).order_by("created_at")
    ):
        events.append(
            Event(
                _("取込 %(file)s(%(status)s)")
                % {"file": run.filename or "—", "status": run.get_status_display()},
                run.created_at,
                pairs=[(_label(run), str(run.pk))],
            )
        )
    return Step("intake", _("対象者の取込"), events)


def _batches(user, contract: Contract) -> Step:
    events = []
    for batch in intake_selectors.batches_for(user).filter(contract=contract).order_by("number"):
        events.append(
            Event(
                _("バッチ %(batch)s(%(status)s・%(n)d 件)")
                % {
                    "batch": str(batch),
                    "status": batch.get_status_display(),
                    "n": batch.case_count,
                },
                batch.sealed_at or batch.created_at,
                pairs=[(_label(batch), str(batch.pk))],
            )
        )
    return Step("batches", _("委託バッチ"), events)


def _handovers(contract: Contract) -> Step:
    events = []
    for package in transfer_selectors.packages_held(contract, holder_id=contract.ward_id):
        slip = getattr(package, "slip", None)
        pairs = [(_label(package), str(package.pk))]
        detail = ""
        if slip is not None:
            pairs.append((_label(slip), str(slip.pk)))
            detail = _("受け渡し票 %(number)s(%(state)s)・ログ先頭 %(head)s") % {
                "number": slip.number,
                "state": slip.get_state_display(),
                "head": slip.log_head[:16],
            }
        events.append(
            Event(
                _("%(direction)s %(kind)s %(n)d 件")
                % {
                    "direction": package.get_direction_display(),
                    "kind": package.get_kind_display(),
                    "n": package.record_count,
                },
                package.at,
                detail,
                pairs,
            )
        )
    return Step("handovers", _("受け渡しと受け渡し票"), events)


def _results(contract: Contract) -> Step:
    events = [
        Event(
            _("調査結果 %(batch)s %(n)d 件(写真 %(photos)d 枚)")
            % {"batch": r.batch_code, "n": r.case_count, "photos": r.photo_count},
            r.received_at,
            # Receiving the results is logged on the package that brought them.
            pairs=[(_label(r), str(r.pk)), ("transfer.package", str(r.package_id))],
        )
        for r in results_selectors.deliveries_of(contract)
    ]
    return Step("results", _("調査結果"), events)


def _follow_up(contract: Contract) -> Step:
    f = evaluation_selectors.figures(contract)
    contacts = evaluation_selectors.contacts_of(contract)
    events = [
        Event(
            _("連絡票後の接触 %(n)d 件(接触率 %(rate)s・納付 %(yen)s 円)")
            % {
                "n": contacts.count(),
                "rate": "—" if f.contact_rate is None else f"{f.contact_rate * 100:.1f}%",
                "yen": f"{f.collected:,}",
            },
            None,
            pairs=[(_label(c), str(c.pk)) for c in contacts],
        )
    ]
    return Step("follow_up", _("追跡(連絡票後の接触)"), events)


def _checklist(contract: Contract) -> Step:
    events = [
        Event(
            _("%(item)s: %(answer)s(%(who)s)")
            % {"item": a.item, "answer": a.get_answer_display(), "who": a.by_name},
            a.checked_on,
            a.note,
            [(_label(a), str(a.pk))],
        )
        for a in ChecklistAnswer.objects.filter(contract=contract).order_by("checked_on", "pk")
    ]
    return Step("checklist", _("確認記録票"), events)


def _audits(contract: Contract) -> Step:
    events = []
    for audit in OnSiteAudit.objects.filter(contract=contract).order_by("audited_on", "pk"):
        actions = list(audit.actions.all())
        done = sum(1 for a in actions if a.completed_on)
        events.append(
            Event(
                _("立入調査(%(inspector)s)改善事項 %(done)d/%(n)d 完了")
                % {"inspector": audit.inspector, "done": done, "n": len(actions)},
                audit.audited_on,
                audit.findings[:200],
                [(_label(audit), str(audit.pk))],
            )
        )
    return Step("audits", _("立入調査"), events)


def _incidents(contract: Contract) -> Step:
    events = [
        Event(
            _("事故報告 %(label)s %(kind)s(%(state)s)")
            % {"label": i.label, "kind": i.get_kind_display(), "state": i.get_state_display()},
            i.found_at,
            pairs=[(_label(i), str(i.pk))],
        )
        for i in Incident.objects.filter(contract=contract).order_by("found_at", "pk")
    ]
    return Step("incidents", _("事故報告"), events)


def _erasure(contract: Contract) -> Step:
    record = erasure_selectors.erasure_record(contract)
    pairs = dict(record.log_objects)
    events = []
    if record.erased:
        events.append(
            Event(
                _("受託者による消去(証明書 %(id)s)") % {"id": record.certificate_id or "—"},
                record.erased_at,
                pairs=[(t, i) for t, i in record.log_objects if t == "erasure.erasure"],
            )
        )
    if record.verified:
        events.append(
            Event(
                _("消去証明書の検証(証明書 %(id)s)") % {"id": record.verified_certificate_id},
                record.verified_at,
                pairs=[(t, i) for t, i in pairs.items() if t == "erasure.receivedcertificate"],
            )
        )
    return Step("erasure", _("消去と消去証明書"), events)


def _sort_key(event: Event):
    at = event.at
    if at is None:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    if not isinstance(at, dt.datetime):
        at = dt.datetime.combine(at, dt.time.min, tzinfo=timezone.get_current_timezone())
    return at


def history(user, contract: Contract) -> list[Step]:
    steps = [
        _intake(user, contract),
        _batches(user, contract),
        _handovers(contract),
        _results(contract),
        _follow_up(contract),
        _checklist(contract),
        _audits(contract),
        _incidents(contract),
        _erasure(contract),
    ]
    pairs = [pair for step in steps for event in step.events for pair in event.pairs]
    by_object = audit_selectors.entries_by_object(contract.code, pairs)
    by_action: dict[str, list] = {}
    actions = [a for names in STEP_ACTIONS.values() for a in names]
    for entry in audit_selectors.entries_of_contract(contract.code).filter(action__in=actions):
        by_action.setdefault(entry.action, []).append(entry)
    shown = []
    for step in steps:
        step.events.sort(key=_sort_key)
        for event in step.events:
            event.entries = sorted(
                (e for pair in event.pairs for e in by_object.get(pair, [])), key=lambda e: e.seq
            )
            shown += event.entries
        step.entries = [e for a in STEP_ACTIONS.get(step.code, ()) for e in by_action.get(a, [])]
        step.entries.sort(key=lambda e: e.seq)
        shown += step.entries
    broken = set(audit_selectors.broken_links(shown))
    for entry in shown:
        entry.link_ok = entry.seq not in broken
    return steps


def all_entries_count(contract: Contract) -> int:
    return audit_selectors.entries_of_contract(contract.code).count()

"""On-site audits of the contractor (立入調査, S15–S17): at least one per fiscal year
(S16), with findings, follow-up actions and their completion; and the reminder when the
current fiscal year (April–March) has none for a contract in force.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import WARD_READERS, WARD_WRITERS, has_role
from genchi.audit.chain import record
from genchi.core.wareki import fiscal_year_label
from genchi.parties.models import Contract
from genchi.parties.selectors import contracts_for

from .models import AuditAction, OnSiteAudit, fiscal_year_of

IN_FORCE = (Contract.Status.ACTIVE, Contract.Status.CLOSING)


def fiscal_year_bounds(fiscal_year: int) -> tuple[dt.date, dt.date]:
    """First and last day of a fiscal year: 2026 → 2026-04-01, 2027-03-31."""
    return dt.date(fiscal_year, 4, 1), dt.date(fiscal_year + 1, 3, 31)


def audit_due(contract: Contract, today: dt.date) -> bool:
    """Whether the contract needs an on-site audit in the fiscal year of `today` and has
    none yet: it is in force and its period overlaps that fiscal year (S16)."""
    if contract.status not in IN_FORCE:
        return False
    first, last = fiscal_year_bounds(fiscal_year_of(today))
    if contract.starts_on > last or contract.ends_on < first:
        return False
    return not OnSiteAudit.objects.filter(
        contract=contract, audited_on__gte=first, audited_on__lte=last
    ).exists()


def reminder_text(contract: Contract, today: dt.date) -> str:
    if not audit_due(contract, today):
        return ""
    return _("%(year)sの立入調査がまだ記録されていません(特記事項により年度に1回以上)。") % {
        "year": fiscal_year_label(fiscal_year_of(today))
    }


def contracts_missing_audit(user, today: dt.date | None = None) -> list[Contract]:
    """The ward's contracts in force without an on-site audit this fiscal year (home)."""
    if not has_role(user, WARD_READERS):
        return []
    today = today or timezone.localdate()
    return [c for c in contracts_for(user).filter(status__in=IN_FORCE) if audit_due(c, today)]


def audits_of(contract: Contract) -> QuerySet[OnSiteAudit]:
    return OnSiteAudit.objects.filter(contract=contract).prefetch_related("actions")


def audit_for(user, audit_id: int) -> OnSiteAudit:
    audit = (
        OnSiteAudit.objects.filter(pk=audit_id, contract__in=contracts_for(user))
        .select_related("contract__ward", "contract__contractor")
        .first()
    )
    if audit is None or not has_role(user, WARD_READERS):
        raise Http404("立入調査が見つかりません")
    return audit


def action_for(user, action_id: int) -> AuditAction:
    """A follow-up action of an audit the person may read."""
    action = (
        AuditAction.objects.filter(pk=action_id, audit__contract__in=contracts_for(user))
        .select_related("audit__contract")
        .first()
    )
    if action is None or not has_role(user, WARD_READERS):
        raise Http404("改善事項が見つかりません")
    return action


def _check_writer(user, contract: Contract) -> None:
    if not has_role(user, WARD_WRITERS) or not contracts_for(user).filter(pk=contract.pk).exists():
        raise PermissionDenied(_("この契約の立入調査を記録する権限がありません。"))


@transaction.atomic
def record_audit(
    user,
    contract: Contract,
    *,
    audited_on: dt.date,
    inspector: str,
    findings: str,
    place: str = "",
    actions: list[tuple[str, dt.date | None]] | None = None,
) -> OnSiteAudit:
    """An on-site audit with its findings and the follow-up actions asked; logged."""
    _check_writer(user, contract)
    if audited_on > timezone.localdate():
        raise ValidationError({"audited_on": _("実施日は今日以前にしてください。")})
    if not inspector.strip() or not findings.strip():
        raise ValidationError({"findings": _("調査員と所見を入力してください。")})
    audit = OnSiteAudit.objects.create(
        contract=contract,
        audited_on=audited_on,
        inspector=inspector.strip()[:200],
        place=place.strip()[:200],
        findings=findings.strip(),
        by=user,
    )
    for text, due_on in actions or []:
        if text.strip():
            AuditAction.objects.create(audit=audit, text=text.strip(), due_on=due_on, by=user)
    record(
        "onsite_audit.recorded",
        obj=audit,
        contract=contract,
        detail={
            "audited_on": audited_on.isoformat(),
            "fiscal_year": audit.fiscal_year,
            "actions": audit.actions.count(),
        },
    )
    return audit


@transaction.atomic
def add_action(user, audit: OnSiteAudit, *, text: str, due_on: dt.date | None) -> AuditAction:
    _check_writer(user, audit.contract)
    if not text.strip():
        raise ValidationError({"text": _("改善を求める事項を入力してください。")})
    action = AuditAction.objects.create(audit=audit, text=text.strip(), due_on=due_on, by=user)
    record(
        "onsite_audit.action_added",
        obj=audit,
        contract=audit.contract,
        detail={"action": action.pk, "due_on": due_on.isoformat() if due_on else None},
    )
    return action


@transaction.atomic
def complete_action(user, action: AuditAction, *, completed_on: dt.date, note: str) -> AuditAction:
    action = (
        AuditAction.objects.select_for_update(of=("self",), no_key=True)
        .select_related("audit__contract")
        .get(pk=action.pk)
    )
    _check_writer(user, action.audit.contract)
    if action.completed_on is not None:
        raise ValidationError({"completed_on": _("この事項はすでに完了しています。")})
    if completed_on > timezone.localdate() or completed_on < action.audit.audited_on:
        raise ValidationError(
            {"completed_on": _("完了日は立入調査の日以降、今日以前にしてください。")}
        )
    action.completed_on = completed_on
    action.completion_note = note.strip()
    action.save(update_fields=["completed_on", "completion_note"])
    record(
        "onsite_audit.action_completed",
        obj=action.audit,
        contract=action.audit.contract,
        detail={"action": action.pk, "completed_on": completed_on.isoformat()},
    )
    return action

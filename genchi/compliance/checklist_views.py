"""Pages of the compliance checklist (W-O2), the on-site audits (S14–S17), the handling
report (S14) and the auditor's history of a contract: thin over checklist.py, audits.py,
handling.py and history.py."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import AUDIT_READERS, CONTRACTOR_OFFICE, WARD_READERS, WARD_WRITERS
from genchi.audit.chain import record
from genchi.parties.selectors import contract_for, contracts_for

from . import audits, checklist, handling, history, selectors, sheets
from .models import ChecklistAnswer

DATE = forms.DateInput(attrs={"type": "date"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AnswerForm(forms.Form):
    item = forms.ChoiceField(label=gettext_lazy("確認項目"), choices=())
    answer = forms.ChoiceField(
        label=gettext_lazy("確認結果"), choices=ChecklistAnswer.Answer.choices
    )
    checked_on = forms.DateField(label=gettext_lazy("確認日"), widget=DATE)
    note = forms.CharField(
        label=gettext_lazy("確認の内容・所見"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [
            (
                code,
                f"{checklist.ITEM_BY_CODE[code].controls}: {checklist.ITEM_BY_CODE[code].question}",
            )
            for code in checklist.INSPECTOR_ITEMS
        ]
        self.fields["checked_on"].initial = timezone.localdate()


class AuditForm(forms.Form):
    audited_on = forms.DateField(label=gettext_lazy("実施日"), widget=DATE)
    inspector = forms.CharField(label=gettext_lazy("調査員(区)"), max_length=200)
    place = forms.CharField(label=gettext_lazy("場所"), max_length=200, required=False)
    findings = forms.CharField(
        label=gettext_lazy("所見"), max_length=8000, widget=forms.Textarea(attrs={"rows": 4})
    )
    actions = forms.CharField(
        label=gettext_lazy("改善を求める事項"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("1 行に 1 事項。完了はあとで記録します。"),
    )
    due_on = forms.DateField(label=gettext_lazy("改善の期限"), required=False, widget=DATE)


class ActionForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("改善を求める事項"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    due_on = forms.DateField(label=gettext_lazy("期限"), required=False, widget=DATE)


class CompleteForm(forms.Form):
    completed_on = forms.DateField(label=gettext_lazy("完了日"), widget=DATE)
    note = forms.CharField(label=gettext_lazy("完了の内容"), max_length=4000, required=False)


class PeriodForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("開始日"), widget=DATE)
    until = forms.DateField(label=gettext_lazy("終了日"), widget=DATE)


def _download(data: bytes, kind: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf" if kind == "pdf" else XLSX)
    disposition = "inline" if kind == "pdf" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}.{kind}"'
    return response


def _render_sheet(sheet: sheets.Sheet, kind: str) -> HttpResponse:
    if kind not in ("pdf", "xlsx"):
        raise Http404("形式が見つかりません")
    data = sheets.as_pdf(sheet) if kind == "pdf" else sheets.as_xlsx(sheet)
    return _download(data, kind, sheet.filename)


# --- the checklist -----------------------------------------------------------------------


@require_safe
@policy(WARD_READERS, description="確認記録票の一覧(契約ごと、立入調査の要否)")
def checklist_list(request):
    today = timezone.localdate()
    rows = [
        {"contract": c, "reminder": audits.reminder_text(c, today)}
        for c in contracts_for(request.user)
        .select_related("contractor")
        .order_by("-fiscal_year", "code")
    ]
    return render(request, "compliance/checklist_list.html", {"rows": rows})


def _checklist_page(request, contract, *, form=None, status=200):
    sheet = checklist.checklist(contract)
    can_answer = permits(checklist_answer, request.user)
    return render(
        request,
        "compliance/checklist.html",
        {
            "contract": contract,
            "checklist": sheet,
            "audits": audits.audits_of(contract),
            "form": (form or AnswerForm()) if can_answer else None,
            "can_record_audit": permits(audit_new, request.user),
            "can_see_history": permits(contract_history, request.user),
        },
        status=status,
    )


@require_safe
@policy(WARD_READERS, description="確認記録票(記録からの根拠と確認者の回答)")
def checklist_detail(request, code: str):
    return _checklist_page(request, contract_for(request.user, code))


@require_POST
@policy(WARD_WRITERS, description="確認記録票への確認者の回答")
def checklist_answer(request, code: str):
    contract = contract_for(request.user, code)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            checklist.answer_item(request.user, contract, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("回答を記録しました。"))
            return redirect("compliance:checklist_detail", code=contract.code)
    return _checklist_page(request, contract, form=form, status=400)


@require_safe
@policy(WARD_READERS, description="確認記録票の印刷(PDF・XLSX)")
def checklist_download(request, code: str, kind: str):
    contract = contract_for(request.user, code)
    sheet = sheets.checklist_sheet(checklist.checklist(contract))
    response = _render_sheet(sheet, kind)
    record("checklist.printed", contract=contract, detail={"format": kind})
    return response


# --- on-site audits ------------------------------------------------------------------------


@policy(WARD_WRITERS, description="立入調査の記録")
def audit_new(request, code: str):
    contract = contract_for(request.user, code)
    form = AuditForm(request.POST or None, initial={"audited_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        lines = [line for line in data["actions"].splitlines() if line.strip()]
        try:
            audit = audits.record_audit(
                request.user,
                contract,
                audited_on=data["audited_on"],
                inspector=data["inspector"],
                place=data["place"],
                findings=data["findings"],
                actions=[(line, data["due_on"]) for line in lines],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("立入調査を記録しました。"))
            return redirect("compliance:audit_detail", audit_id=audit.pk)
    return render(
        request,
        "compliance/audit_new.html",
        {"contract": contract, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


def _audit_page(request, audit, *, action_form=None, status=200):
    can_write = permits(audit_add_action, request.user)
    return render(
        request,
        "compliance/audit_detail.html",
        {
            "audit": audit,
            "actions": audit.actions.all(),
            "action_form": (action_form or ActionForm()) if can_write else None,
            "complete_form": CompleteForm(initial={"completed_on": timezone.localdate()})
            if can_write
            else None,
        },
        status=status,
    )


@require_safe
@policy(WARD_READERS, description="立入調査の記録と改善事項")
def audit_detail(request, audit_id: int):
    return _audit_page(request, audits.audit_for(request.user, audit_id))


@require_POST
@policy(WARD_WRITERS, description="立入調査の改善事項の追加")
def audit_add_action(request, audit_id: int):
    audit = audits.audit_for(request.user, audit_id)
    form = ActionForm(request.POST)
    if form.is_valid():
        try:
            audits.add_action(request.user, audit, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("改善事項を追加しました。"))
            return redirect("compliance:audit_detail", audit_id=audit.pk)
    return _audit_page(request, audit, action_form=form, status=400)


@require_POST
@policy(WARD_WRITERS, description="立入調査の改善事項の完了")
def audit_complete_action(request, action_id: int):
    action = audits.action_for(request.user, action_id)
    audit = action.audit
    form = CompleteForm(request.POST)
    if form.is_valid():
        try:
            audits.complete_action(
                request.user,
                action,
                completed_on=form.cleaned_data["completed_on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("改善事項の完了を記録しました。"))
    else:
        messages.error(request, _("完了日を入力してください。"))
    return redirect("compliance:audit_detail", audit_id=audit.pk)


@require_safe
@policy(WARD_READERS, description="立入調査記録の印刷(PDF・XLSX)")
def audit_download(request, audit_id: int, kind: str):
    audit = audits.audit_for(request.user, audit_id)
    response = _render_sheet(sheets.audit_sheet(audit), kind)
    record("onsite_audit.printed", obj=audit, contract=audit.contract, detail={"format": kind})
    return response


# --- the handling report (S14) --------------------------------------------------------------


def _report_contract(request, code: str):
    contract = (
        handling.report_contracts_for(request.user)
        .select_related("ward", "contractor")
        .filter(code=code)
        .first()
    )
    if contract is None:
        raise Http404("契約が見つかりません")
    return contract


def _period(request, contract) -> tuple[PeriodForm, dt.date | None, dt.date | None]:
    initial = {"since": contract.starts_on, "until": min(contract.ends_on, timezone.localdate())}
    form = PeriodForm(request.GET or None, initial=initial)
    if not form.is_bound:
        return form, initial["since"], initial["until"]
    if form.is_valid():
        return form, form.cleaned_data["since"], form.cleaned_data["until"]
    return form, None, None


@require_safe
@policy(WARD_READERS | CONTRACTOR_OFFICE, description="取扱状況報告(期間を選んで作成)")
def handling_report(request, code: str):
    contract = _report_contract(request, code)
    form, since, until = _period(request, contract)
    report = None
    if since and until:
        try:
            report = handling.handling_report(contract, since, until)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
    return render(
        request,
        "compliance/handling_report.html",
        {"contract": contract, "form": form, "report": report},
        status=200 if report else 400 if form.is_bound else 200,
    )


@require_safe
@policy(WARD_READERS | CONTRACTOR_OFFICE, description="取扱状況報告の印刷(PDF・XLSX)")
def handling_download(request, code: str, kind: str):
    contract = _report_contract(request, code)
    form, since, until = _period(request, contract)
    try:
        report = handling.handling_report(contract, since, until)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain")
    response = _render_sheet(sheets.handling_sheet(report), kind)
    record(
        "handling_report.printed",
        contract=contract,
        detail={"since": since.isoformat(), "until": until.isoformat(), "format": kind},
    )
    return response


# --- the auditor's view of a whole contract ----------------------------------------------------


@require_safe
@policy(AUDIT_READERS, description="契約の全経過(監査)と監査ログの照合")
def contract_history(request, code: str):
    contract = contract_for(request.user, code)
    steps = history.history(request.user, contract)
    record("contract_history.viewed", contract=contract)
    return render(
        request,
        "compliance/contract_history.html",
        {"contract": contract, "steps": steps, **selectors.chain_check_status()},
    )

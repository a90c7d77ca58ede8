"""The ward's follow-up and yearly evaluation pages (J2): thin over selectors and services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import WARD_READERS, WARD_WRITERS
from genchi.audit.chain import record

from . import exports, selectors, services
from .charts import rates_chart
from .models import FollowUpContact

MAX_UPLOAD = 16 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("税システムの接触記録(CSV・Excel)"),
        help_text=gettext_lazy(
            "列: 参照番号・接触日・接触方法(電話・来庁・納付)・金額。CSV は UTF-8 または Shift_JIS。"
        ),
    )


class ContactForm(forms.Form):
    case_ref = forms.CharField(label=gettext_lazy("参照番号"), max_length=64)
    kind = forms.ChoiceField(label=gettext_lazy("接触方法"), choices=FollowUpContact.Kind.choices)
    contacted_on = forms.DateField(
        label=gettext_lazy("接触日"), widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.IntegerField(
        label=gettext_lazy("金額(円)"),
        required=False,
        min_value=0,
        help_text=gettext_lazy("納付のとき"),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


@require_safe
@policy(WARD_READERS, description="年度評価(年度比較の表とグラフ)")
def evaluation_index(request):
    evaluation = selectors.evaluation_for(request.user)
    return render(
        request,
        "evaluation/index.html",
        {"evaluation": evaluation, "chart": rates_chart(evaluation.years)},
    )


@require_safe
@policy(WARD_READERS, description="年度評価の書き出し(XLSX)")
def evaluation_xlsx(request):
    evaluation = selectors.evaluation_for(request.user)
    record("evaluation.exported", detail={"contracts": len(evaluation.contracts)})
    response = HttpResponse(
        exports.as_xlsx(evaluation),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="evaluation-{stamp}.xlsx"'
    return response


def _contract_page(request, contract, *, import_form=None, contact_form=None, status=200):
    can_write = services.may_write(request.user, contract)
    return render(
        request,
        "evaluation/contract.html",
        {
            "contract": contract,
            "figures": selectors.figures(contract),
            "contacts": selectors.contacts_of(contract)[:500],
            "import_form": (import_form or ImportForm()) if can_write else None,
            "contact_form": (contact_form or ContactForm()) if can_write else None,
            "can_write": can_write and permits(follow_up_import, request.user),
        },
        status=status,
    )


@require_safe
@policy(WARD_READERS, description="契約の追跡(連絡票後の接触)と評価")
def contract_follow_up(request, code: str):
    return _contract_page(request, selectors.contract_for(request.user, code))


@require_POST
@policy(WARD_WRITERS, description="連絡票後の接触の取込(CSV・XLSX、全件か無し)")
def follow_up_import(request, code: str):
    contract = selectors.contract_for(request.user, code)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            form.add_error("file", _("ファイルが大きすぎます(上限 16 MB)。"))
        else:
            try:
                outcome = services.import_contacts(
                    request.user, contract, upload.read(), filename=upload.name
                )
            except services.FollowUpRefused as refused:
                for error in refused.errors:
                    form.add_error(None, error)
                form.add_error(None, _("ファイルは取り込んでいません(1 件も登録していません)。"))
            else:
                messages.success(
                    request,
                    _("%(rows)d 行を取り込みました(新規 %(added)d 件・登録済み %(already)d 件)。")
                    % {"rows": outcome.rows, "added": outcome.added, "already": outcome.already},
                )
                return redirect("evaluation:contract", code=contract.code)
    return _contract_page(request, contract, import_form=form, status=400)


@require_POST
@policy(WARD_WRITERS, description="連絡票後の接触の手入力")
def follow_up_add(request, code: str):
    contract = selectors.contract_for(request.user, code)
    form = ContactForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_contact(
                request.user,
                contract,
                case_ref=data["case_ref"],
                kind=data["kind"],
                contacted_on=data["contacted_on"],
                amount=data["amount"] or 0,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("接触を記録しました。"))
            back = data.get("next") or ""
            if back.startswith("/cases/"):  # back to the case page it was entered on
                return redirect(back)
            return redirect("evaluation:contract", code=contract.code)
    return _contract_page(request, contract, contact_form=form, status=400)

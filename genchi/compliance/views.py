from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import policy
from genchi.access.roles import AUDIT_READERS
from genchi.audit import chain
from genchi.audit.labels import ACTION_LABELS
from genchi.audit.models import AuditEntry
from genchi.parties.selectors import contracts_for

from . import selectors, services
from .presenting import log_rows


class AuditFilterForm(forms.Form):
    actor = forms.TypedChoiceField(label=_("操作者"), required=False, coerce=int, empty_value=None)
    contract = forms.ChoiceField(label=_("契約"), required=False)
    action = forms.ChoiceField(label=_("操作"), required=False)
    since = forms.DateField(
        label=_("開始日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("終了日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        everyone = [("", _("すべて"))]
        self.fields["actor"].choices = everyone + [
            (person.pk, f"{person} ({person.username})")
            for person in selectors.people_seen_by(user)
        ]
        self.fields["contract"].choices = everyone + [(c.code, str(c)) for c in contracts_for(user)]
        self.fields["action"].choices = everyone + sorted(
            ((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda c: c[1]
        )


@require_safe
@policy(AUDIT_READERS, description="監査ログの閲覧と改ざん検査")
def log(request):
    form = AuditFilterForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        filters, entries = {}, AuditEntry.objects.none()  # say what is wrong; list nothing
    else:
        filters = form.cleaned_data if form.is_bound else {}
        entries = selectors.filtered(request.user, **{k: v for k, v in filters.items() if v})
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    rows = log_rows(page)
    chain.record("audit.viewed", detail={"filters": {k: str(v) for k, v in filters.items() if v}})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "compliance/log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            **selectors.chain_check_status(),
        },
    )


@require_POST
@policy(AUDIT_READERS, description="監査ログの改ざん検査を今すぐ実行する")
def check_start(request):
    services.request_chain_check(by=request.user)
    messages.info(request, _("改ざん検査を開始しました。終わるとこのページに結果が表示されます。"))
    return redirect("compliance:log")


@require_safe
@policy(AUDIT_READERS, description="改ざん検査の進み具合(ページが1秒ごとに読む)")
def check_status(request):
    status = selectors.chain_check_status()
    if status["active_check"] is not None:
        return render(request, "compliance/_chain_check.html", status)
    response = HttpResponse(status=204)
    response["HX-Redirect"] = reverse("compliance:log")
    return response

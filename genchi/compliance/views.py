from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from genchi.access.policy import policy
from genchi.access.roles import AUDIT_READERS
from genchi.audit import chain
from genchi.parties.selectors import contracts_for

from . import selectors


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("操作者"), required=False, max_length=150)
    contract = forms.ChoiceField(label=_("契約"), required=False)
    action = forms.CharField(label=_("操作(前方一致)"), required=False, max_length=64)
    since = forms.DateField(
        label=_("開始日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("終了日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@require_safe
@policy(AUDIT_READERS, description="監査ログの閲覧と改ざん検査")
def log(request):
    form = AuditFilterForm(request.GET or None)
    form.fields["contract"].choices = [("", "すべて")] + [
        (c.code, str(c)) for c in contracts_for(request.user)
    ]
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.filtered(request.user, **{k: v for k, v in filters.items() if v})
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    chain.record("audit.viewed", detail={"filters": {k: str(v) for k, v in filters.items() if v}})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "compliance/log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "verification": chain.verify(),
        },
    )

"""Pages of incidents (S19, S20): the list, the first report, the steps after it, the PDF."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import CONTRACTOR_ADMINS, CONTRACTOR_OFFICE, WARD_READERS, WARD_WRITERS
from genchi.audit.chain import record
from genchi.tablet import selectors as tablet_selectors
from genchi.transfer import services as transfer

from . import checklist_views, incidents, lost_devices
from .documents import first_report_pdf
from .models import Incident, IncidentEntry

READERS = WARD_READERS | CONTRACTOR_OFFICE
WRITERS = WARD_WRITERS | CONTRACTOR_OFFICE
LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class IncidentForm(forms.Form):
    contract = forms.ModelChoiceField(label=_("契約"), queryset=None, empty_label=None)
    kind = forms.ChoiceField(label=_("種類"), choices=Incident.Kind.choices)
    found_at = forms.DateTimeField(label=_("発見日時"), widget=LOCAL)
    occurred_at = forms.DateTimeField(
        label=_("発生日時"), required=False, widget=LOCAL, help_text=_("分からなければ空欄")
    )
    found_by = forms.CharField(label=_("発見者"), max_length=100)
    summary = forms.CharField(
        label=_("概要"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("何が起きたか。氏名・住所などの個人情報は書かず、案件は参照番号で示します。"),
    )
    first_actions = forms.CharField(
        label=_("初動の対応"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    affected_refs = forms.CharField(
        label=_("対象の案件(参照番号)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("空白・改行・カンマ区切り。紛失した端末にあった案件もここに入れます。"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = incidents.recordable_contracts(user)
        self.fields["found_at"].initial = timezone.localtime().replace(second=0, microsecond=0)


class EntryForm(forms.Form):
    kind = forms.ChoiceField(label=_("記録する段階"), choices=())
    text = forms.CharField(
        label=_("内容"), max_length=8000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, steps: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(IncidentEntry.Kind.choices)
        self.fields["kind"].choices = [(k, labels[k]) for k in steps]


@require_safe
@policy(READERS, description="事故報告の一覧")
def incident_list(request):
    rows = incidents.incidents_for(request.user)
    return render(
        request,
        "compliance/incident_list.html",
        {
            "incidents": rows[:200],
            "open_count": rows.exclude(state=Incident.State.CLOSED).count(),
            "can_record": incidents.recordable_contracts(request.user).exists(),
            # The ward's other checks of the contractor live beside its incidents.
            "can_see_checklists": permits(checklist_views.checklist_list, request.user),
        },
    )


@policy(WRITERS, description="事故報告(第一報)の記録")
def incident_new(request):
    form = IncidentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = incidents.record_incident(
                request.user,
                data["contract"],
                kind=data["kind"],
                found_at=data["found_at"],
                occurred_at=data["occurred_at"],
                found_by=data["found_by"],
                summary=data["summary"],
                first_actions=data["first_actions"],
                affected_refs=incidents.parse_refs(data["affected_refs"]),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                _(
                    "第一報を記録しました。区の画面に表示されます。報告書を印刷して区に届けてください。"
                ),
            )
            return redirect("compliance:incident_detail", incident_id=incident.pk)
    return render(request, "compliance/incident_new.html", {"form": form})


def _may_send(request, incident: Incident) -> bool:
    """The side that recorded the incident here may send it to the other side's Genchi."""
    return (
        incident.received_version is None
        and incidents.side_of(request.user) == incident.side
        and incidents.may_record(request.user, incident.contract)
    )


def _detail(request, incident: Incident, form, *, status: int = 200):
    return render(
        request,
        "compliance/incident_detail.html",
        {
            "incident": incident,
            "entries": incident.entries.select_related("by"),
            "form": form,
            "can_send": _may_send(request, incident) and permits(incident_send, request.user),
        },
        status=status,
    )


@require_safe
@policy(READERS, description="事故報告の詳細と経過")
def incident_detail(request, incident_id: int):
    incident = incidents.incident_for(request.user, incident_id)
    steps = incidents.allowed_steps(request.user, incident)
    return _detail(request, incident, EntryForm(steps=steps) if steps else None)


@require_POST
@policy(WRITERS, description="事故報告のパッケージ(相手方の Genchi へ送る)の作成")
def incident_send(request, incident_id: int):
    """Write the incident as a signed package kept for download from its slip, to take
    to the other side's Genchi (separate installations)."""
    incident = incidents.incident_for(request.user, incident_id)
    folder = transfer.download_folder(request.user.organisation)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        result = incidents.send_incident(
            incident, folder, by=request.user, delivery=incidents.DOWNLOAD
        )
    except transfer.Refusal as exc:
        messages.error(request, transfer.refusal_message(exc))
        return redirect("compliance:incident_detail", incident_id=incident.pk)
    messages.success(
        request,
        _(
            "事故報告のパッケージを作成しました。受け渡し票からダウンロードして、"
            "事故報告書(第一報)とともに相手方へ届けてください。"
        ),
    )
    return redirect("transfer:slip_detail", slip_id=result.slip.pk)


@require_POST
@policy(WRITERS, description="事故報告の経過の記録(書面報告・指示・対応完了・完了)")
def incident_add_entry(request, incident_id: int):
    incident = incidents.incident_for(request.user, incident_id)
    steps = incidents.allowed_steps(request.user, incident)
    form = EntryForm(request.POST, steps=steps)
    if form.is_valid():
        try:
            incidents.add_entry(
                request.user,
                incident,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("経過を記録しました。"))
            return redirect("compliance:incident_detail", incident_id=incident.pk)
    return _detail(request, incident, form, status=400)


@require_safe
@policy(READERS, description="事故報告書(第一報)のPDF")
def incident_pdf(request, incident_id: int):
    incident = incidents.incident_for(request.user, incident_id)
    record(
        "incident.printed",
        obj=incident,
        contract=incident.contract,
        detail={"number": incident.label},
    )
    response = HttpResponse(first_report_pdf(incident), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="incident-{incident.label}.pdf"'
    return response


@require_POST
@policy(
    CONTRACTOR_ADMINS,
    description="タブレットの紛失・盗難(失効、端末にあった案件の記録、事故報告の第一報)",
)
def device_lost(request, device_id: int):
    device = get_object_or_404(tablet_selectors.devices_for(request.user), pk=device_id)
    try:
        incident = lost_devices.report_lost_device(
            device,
            by=request.user,
            found_by=request.POST.get("found_by", "").strip()[:100],
            summary=request.POST.get("summary", "")[:2000],
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("tablet:devices")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("tablet:devices")
    messages.success(
        request,
        _("端末を失効させ、事故報告(第%(n)d号)を作成しました。区へ速やかに報告してください。")
        % {"n": incident.number},
    )
    return redirect("compliance:incident_detail", incident.pk)

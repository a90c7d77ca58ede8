"""Pages of the encrypted handover: keys, packages, slips and the USB ledger."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from genchi.access.policy import policy
from genchi.accounts.models import Role
from genchi.audit.chain import record
from genchi.core.wareki import format_date
from genchi.jobs.models import JobState
from genchi.jobs.outcomes import interrupt_if_stale

from . import ledger, orgkeys, selectors, services
from .forms import (
    CardImportForm,
    ConfirmForm,
    ExportForm,
    ImportForm,
    InspectForm,
    KeyCreateForm,
    LendForm,
    ReceiveForm,
    ReturnForm,
    StickRegisterForm,
    WipeForm,
)
from .ledger_docs import ledger_pdf, ledger_xlsx
from .models import HandoverJob, HandoverSlip, Package, StickEvent
from .refusals import Refused, refusal_message
from .slip_docs import slip_pdf

WARD_WRITERS = frozenset({Role.WARD_STAFF, Role.WARD_ADMIN})
WARD_READERS = WARD_WRITERS | {Role.WARD_AUDITOR}
CONTRACTOR_OFFICE = frozenset({Role.MANAGER, Role.HANDLER})
HANDOVER_READERS = WARD_READERS | CONTRACTOR_OFFICE
HANDOVER_WRITERS = WARD_WRITERS | CONTRACTOR_OFFICE
KEY_ADMINS = frozenset({Role.WARD_ADMIN, Role.MANAGER})


# --- keys ---------------------------------------------------------------------------------


@policy(HANDOVER_READERS, description="組織の鍵と相手の公開鍵カード")
def keys(request):
    org = request.user.organisation
    can_manage = request.user.role in KEY_ADMINS
    create_form = KeyCreateForm(prefix="create")
    card_form = CardImportForm(prefix="card")
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(_("鍵を管理する権限がありません。"))
        action = request.POST.get("action")
        try:
            if action == "create":
                create_form = KeyCreateForm(request.POST, prefix="create")
                if create_form.is_valid():
                    orgkeys.create_key_pair(
                        org, by=request.user, replace=create_form.cleaned_data["replace"]
                    )
                    messages.success(
                        request, _("鍵ペアを作成しました。公開鍵カードを相手に渡してください。")
                    )
                    return redirect("transfer:keys")
            elif action == "import":
                card_form = CardImportForm(request.POST, request.FILES, prefix="card")
                if card_form.is_valid():
                    data = card_form.cleaned_data
                    upload = data.get("card")
                    raw = upload.read(64 * 1024) if upload else data["card_text"].strip().encode()
                    row = orgkeys.import_card(
                        org,
                        raw,
                        by=request.user,
                        expected_fingerprint=data["fingerprint"],
                        replace=data["replace"],
                    )
                    messages.success(
                        request,
                        _("%(org)s の公開鍵カードを登録しました。") % {"org": row.subject.name},
                    )
                    return redirect("transfer:keys")
        except Refused as exc:
            messages.error(request, refusal_message(exc))
    own = selectors.own_key_pair(request.user)
    qr_svg = ""
    if own is not None:
        card = orgkeys.parse_public_key_card(own.card_json)
        qr_svg = card.qr_svg(scale=3, title=_("%(org)s 公開鍵カード") % {"org": card.org_code})
    return render(
        request,
        "transfer/keys.html",
        {
            "own": own,
            "qr_svg": qr_svg,
            "cards": selectors.partner_cards_for(request.user),
            "can_manage": can_manage,
            "create_form": create_form,
            "card_form": card_form,
        },
    )


@policy(HANDOVER_READERS, description="自組織の公開鍵カードのダウンロード")
def card_download(request):
    own = selectors.own_key_pair(request.user)
    if own is None:
        messages.error(request, _("鍵ペアがまだありません。"))
        return redirect("transfer:keys")
    data = orgkeys.export_card(own.organisation)
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="genchi-key-card-{own.organisation.code}.json"'
    )
    return response


# --- packages -----------------------------------------------------------------------------


@policy(HANDOVER_READERS, description="受け渡しパッケージと受け渡し票の一覧")
def package_list(request):
    return render(
        request,
        "transfer/package_list.html",
        {
            "packages": selectors.packages_for(request.user)[:200],
            "batches": selectors.sendable_for(request.user),
            "can_export": request.user.role in WARD_WRITERS,
            "can_import": request.user.role in CONTRACTOR_OFFICE,
        },
    )


@policy(WARD_WRITERS, description="封緘済みバッチの書き出し(区)", personal_data=True)
def package_export(request):
    batches = selectors.sendable_for(request.user)
    sticks = selectors.writable_sticks(request.user)
    form = ExportForm(request.POST or None, batches=batches, sticks=sticks)
    if request.method == "POST" and form.is_valid():
        job = services.start_export(
            kind="cases",
            key=form.cleaned_data["batch"],
            stick=form.cleaned_data["stick"],
            passphrase=form.cleaned_data["passphrase"] or None,
            by=request.user,
        )
        return redirect("transfer:handover_job", job_id=job.pk)
    awaiting_wipe, awaiting_handover = ledger.sort_unwiped(
        selectors.sticks_awaiting_wipe(request.user)
    )
    return render(
        request,
        "transfer/export.html",
        {
            "form": form,
            "has_batches": bool(batches),
            "has_sticks": sticks.exists(),
            "awaiting_wipe": awaiting_wipe,
            "awaiting_handover": awaiting_handover,
        },
    )


@policy(CONTRACTOR_OFFICE, description="パッケージの取り込み(受託者)", personal_data=True)
def package_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = services.start_import(
            form.cleaned_data["package"],
            passphrase=form.cleaned_data["passphrase"] or None,
            giver_name=form.cleaned_data["giver_name"],
            stick_label=form.cleaned_data["stick_label"],
            by=request.user,
        )
        return redirect("transfer:handover_job", job_id=job.pk)
    return render(request, "transfer/import.html", {"form": form})


def _job_for(request, job_id: int) -> HandoverJob:
    job = get_object_or_404(selectors.handover_jobs_for(request.user), pk=job_id)
    interrupt_if_stale(job)  # a job whose worker died is shown interrupted, to restart
    return job


def _job_done(request, job: HandoverJob) -> str | None:
    """Where a finished job leads: its slip, with the job's words."""
    if job.job_state == JobState.SUCCEEDED and job.slip_id:
        messages.success(request, job.job_message)
        return reverse("transfer:slip_detail", kwargs={"slip_id": job.slip_id})
    return None


@policy(HANDOVER_WRITERS, description="パッケージの書き出し・取り込みの進み具合")
def handover_job(request, job_id: int):
    job = _job_for(request, job_id)
    target = _job_done(request, job)
    if target:
        return redirect(target)
    return render(request, "transfer/job.html", {"job": job, "states": JobState})


@policy(HANDOVER_WRITERS, description="パッケージの書き出し・取り込みの進み具合(自動更新)")
def handover_job_progress(request, job_id: int):
    job = _job_for(request, job_id)
    if job.job_is_active:
        return render(request, "transfer/_job_progress.html", {"job": job})
    response = HttpResponse(status=204)
    response["HX-Redirect"] = _job_done(request, job) or reverse(
        "transfer:handover_job", kwargs={"job_id": job.pk}
    )
    return response


@require_POST
@policy(HANDOVER_WRITERS, description="中断したパッケージの書き出し・取り込みのやり直し")
def handover_job_restart(request, job_id: int):
    job = _job_for(request, job_id)
    try:
        services.restart(job, by=request.user)
    except Refused as exc:
        messages.error(request, refusal_message(exc))
    return redirect("transfer:handover_job", job_id=job.pk)


# --- slips --------------------------------------------------------------------------------


@policy(HANDOVER_READERS, description="受け渡し票の詳細と確認")
def slip_detail(request, slip_id: int):
    slip = get_object_or_404(selectors.slips_for(request.user), pk=slip_id)
    can_act = request.user.role in WARD_WRITERS | CONTRACTOR_OFFICE
    receive_form = ReceiveForm(prefix="receive")
    confirm_form = ConfirmForm(prefix="confirm")
    if request.method == "POST":
        if not can_act:
            raise PermissionDenied(_("受け渡し票を更新する権限がありません。"))
        action = request.POST.get("action")
        try:
            if action == "receive":
                receive_form = ReceiveForm(request.POST, prefix="receive")
                if receive_form.is_valid():
                    services.mark_received(
                        slip,
                        by=request.user,
                        receiver_name=receive_form.cleaned_data["receiver_name"],
                    )
                    messages.success(request, _("受領を記録しました。"))
                    return redirect("transfer:slip_detail", slip_id=slip.pk)
            elif action == "confirm":
                confirm_form = ConfirmForm(request.POST, prefix="confirm")
                if confirm_form.is_valid():
                    data = confirm_form.cleaned_data
                    services.confirm_slip(
                        slip,
                        code=data["code"],
                        record_count=data["record_count"],
                        giver_name=data["giver_name"],
                        by=request.user,
                    )
                    messages.success(request, _("受け渡し票を確認済みにしました。"))
                    return redirect("transfer:slip_detail", slip_id=slip.pk)
        except Refused as exc:
            messages.error(request, refusal_message(exc))
    return render(
        request,
        "transfer/slip_detail.html",
        {
            "slip": slip,
            "package": slip.package,
            "can_act": can_act,
            "receive_form": receive_form,
            "confirm_form": confirm_form,
            "states": HandoverSlip.State,
            "outgoing": slip.package.direction == Package.Direction.OUTGOING,
        },
    )


@policy(HANDOVER_READERS, description="受け渡し票のPDF")
def slip_pdf_download(request, slip_id: int):
    slip = get_object_or_404(selectors.slips_for(request.user), pk=slip_id)
    data = slip_pdf(slip)
    record("slip.printed", obj=slip, contract=slip.contract, detail={"number": slip.number})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handover-slip-{slip.number}.pdf"'
    return response


# --- USB ledger ---------------------------------------------------------------------------


@policy(WARD_READERS, description="USBメモリ管理台帳")
def usb_list(request):
    can_write = request.user.role in WARD_WRITERS
    form = StickRegisterForm(request.POST or None)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied(_("台帳を更新する権限がありません。"))
        if form.is_valid():
            try:
                stick = ledger.register_stick(
                    request.user.organisation, by=request.user, **form.cleaned_data
                )
            except ledger.LedgerError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, _("USBメモリ %(stick)s を登録しました。") % {"stick": stick.label}
                )
                return redirect("transfer:usb_list")
    rows = ledger.ledger_rows(request.user.organisation)
    return render(
        request,
        "transfer/usb_list.html",
        {
            "rows": rows,
            "form": form,
            "can_write": can_write,
            "overdue": [r for r in rows if r.overdue],
            "today": format_date(timezone.localdate()),
        },
    )


@policy(WARD_READERS, description="USBメモリの記録(貸出・返却・点検・消去)")
def usb_detail(request, stick_id: int):
    stick = get_object_or_404(selectors.sticks_for(request.user), pk=stick_id)
    can_write = request.user.role in WARD_WRITERS
    builders = {
        "lend": lambda data=None: LendForm(data, prefix="lend", owner=stick.owner),
        "return": lambda data=None: ReturnForm(data, prefix="return"),
        "inspect": lambda data=None: InspectForm(data, prefix="inspect"),
        "wipe": lambda data=None: WipeForm(data, prefix="wipe"),
    }
    forms = {action: build() for action, build in builders.items()}
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied(_("台帳を更新する権限がありません。"))
        action = request.POST.get("action", "")
        if action in forms:
            form = builders[action](request.POST)
            forms[action] = form
            if form.is_valid():
                try:
                    _ledger_action(request, stick, action, form.cleaned_data)
                except ledger.LedgerError as exc:
                    form.add_error(None, exc.message)
                else:
                    return redirect("transfer:usb_detail", stick_id=stick.pk)
    return render(
        request,
        "transfer/usb_detail.html",
        {
            "stick": stick,
            "loan": ledger.open_loan(stick),
            "carried": [e.package for e in ledger.awaiting_handover(stick)],
            "events": stick.events.select_related("package", "loan").order_by("-at", "-id"),
            "loans": stick.loans.select_related("borrower_org", "package").order_by("-lent_at"),
            "forms": forms,
            "can_write": can_write,
            "folder_files": _folder_files(stick) if can_write else [],
        },
    )


def _folder_files(stick) -> list[str]:
    folder = services.usb_folder(stick)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def _ledger_action(request, stick, action: str, data: dict) -> None:
    by = request.user
    if action == "lend":
        loan = ledger.lend_stick(stick, by=by, **data)
        messages.success(
            request,
            _("%(stick)s を %(borrower)s に貸し出しました。")
            % {"stick": stick.label, "borrower": loan.borrower_name},
        )
    elif action == "return":
        ledger.return_stick(stick, by=by, returned_by_name=data["returned_by_name"])
        messages.success(
            request,
            _("%(stick)s の返却を記録しました。消去・初期化を行ってください。")
            % {"stick": stick.label},
        )
    elif action == "inspect":
        ledger.inspect_stick(stick, ok=data["result"] == "ok", note=data["note"], by=by)
        messages.success(request, _("点検を記録しました。"))
    elif action == "wipe":
        folder = services.usb_folder(stick)
        _event, report = ledger.wipe_stick(
            stick,
            method=data["method"],
            folder=folder if folder.is_dir() else None,
            performed_by=data["performed_by"],
            note=data["note"],
            by=by,
        )
        removed = len(report.removed) if report else 0
        messages.success(
            request,
            ngettext(
                "消去・初期化を記録しました(Genchi パッケージ %(n)d 件を上書き削除)。",
                "消去・初期化を記録しました(Genchi パッケージ %(n)d 件を上書き削除)。",
                removed,
            )
            % {"n": removed},
        )
        if data["method"] == StickEvent.WipeMethod.OVERWRITE_DELETE:
            messages.warning(
                request,
                _(
                    "フラッシュメモリはファイルの上書きだけでは完全に消去できません(NIST SP 800-88)。"
                    "機器のセキュア消去機能か物理破壊を行った場合は、その方法でも記録してください。"
                ),
            )


@policy(WARD_READERS, description="USBメモリ管理台帳のPDF")
def usb_ledger_pdf(request):
    data = ledger_pdf(request.user.organisation)
    record("usb.ledger_exported", detail={"format": "pdf"})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="usb-ledger.pdf"'
    return response


@policy(WARD_READERS, description="USBメモリ管理台帳のExcel")
def usb_ledger_xlsx(request):
    data = ledger_xlsx(request.user.organisation)
    record("usb.ledger_exported", detail={"format": "xlsx"})
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="usb-ledger.xlsx"'
    return response

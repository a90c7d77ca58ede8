"""Pages of the encrypted handover: keys, packages, slips and the USB ledger."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import (
    HANDOVER_READERS,
    HANDOVER_WRITERS,
    ORGANISATION_ADMINS,
    WARD_READERS,
    WARD_WRITERS,
    has_role,
)
from genchi.audit.chain import record
from genchi.core.wareki import format_date
from genchi.jobs.models import JobState
from genchi.jobs.outcomes import interrupt_if_stale
from genchi.parties.selectors import contracts_for

from . import contract_keys, ledger, orgkeys, selectors, services
from .forms import (
    CardImportForm,
    ConfirmForm,
    ContractCardImportForm,
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
from .models import HandoverJob, HandoverSlip, Package, StickEvent, UsbStick
from .refusals import Refused, refusal_message
from .slip_docs import slip_pdf

# --- keys ---------------------------------------------------------------------------------


def _keys_page(request, *, create_form=None, card_form=None, contract_card_form=None):
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
            "can_create": permits(key_pair_create, request.user),
            "can_import": permits(card_import, request.user),
            "create_form": create_form or KeyCreateForm(prefix="create"),
            "card_form": card_form or CardImportForm(prefix="card"),
            "contract_keys": selectors.contract_recipient_keys_for(request.user),
            "contract_cards": selectors.partner_contract_cards_for(request.user),
            "can_create_contract_key": permits(contract_key_create, request.user),
            "can_import_contract_card": permits(contract_card_import, request.user),
            "contract_card_form": contract_card_form or ContractCardImportForm(prefix="ccard"),
        },
    )


@require_safe
@policy(HANDOVER_READERS, description="組織の鍵と相手の公開鍵カード")
def keys(request):
    return _keys_page(request)


@require_POST
@policy(ORGANISATION_ADMINS, description="組織の鍵ペアの作成・作り直し")
def key_pair_create(request):
    form = KeyCreateForm(request.POST, prefix="create")
    if form.is_valid():
        try:
            orgkeys.create_key_pair(
                request.user.organisation, by=request.user, replace=form.cleaned_data["replace"]
            )
        except Refused as exc:
            messages.error(request, refusal_message(exc))
        else:
            messages.success(
                request, _("鍵ペアを作成しました。公開鍵カードを相手に渡してください。")
            )
            return redirect("transfer:keys")
    return _keys_page(request, create_form=form)


@require_POST
@policy(ORGANISATION_ADMINS, description="相手の公開鍵カードの登録")
def card_import(request):
    form = CardImportForm(request.POST, request.FILES, prefix="card")

    def registered(row) -> str:
        return _("%(org)s の公開鍵カードを登録しました。") % {"org": row.subject.name}

    return _register_card(request, form, orgkeys.import_card, registered, "card_form")


def _register_card(request, form, register, registered, form_name: str) -> HttpResponse:
    """Register the card of a posted card form with `register(holder, data, …)`; back to
    the keys page with `registered(row)`, or the page again with the form or refusal."""
    if form.is_valid():
        try:
            row = register(
                request.user.organisation,
                form.card_bytes(),
                by=request.user,
                expected_fingerprint=form.cleaned_data["fingerprint"],
                replace=form.cleaned_data["replace"],
            )
        except Refused as exc:
            messages.error(request, refusal_message(exc))
        else:
            messages.success(request, registered(row))
            return redirect("transfer:keys")
    return _keys_page(request, **{form_name: form})


@require_safe
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


# --- contract recipient keys --------------------------------------------------------------


def _contract_for(request, contract_id: int):
    """A contract this person sees, of which their organisation is a party (else 404)."""
    return get_object_or_404(
        contracts_for(request.user).select_related("ward", "contractor"),
        pk=contract_id,
    )


@require_safe
@policy(HANDOVER_READERS, description="契約の受け取り鍵カード(QRコード・フィンガープリント)")
def contract_card(request, contract_id: int):
    contract = _contract_for(request, contract_id)
    row = contract_keys.recipient_key(contract, request.user.organisation)
    qr_svg = ""
    if row is not None and row.destroyed_at is None:
        qr_svg = contract_keys.own_card(row).qr_svg(
            scale=3, title=_("%(contract)s 受け取り鍵カード") % {"contract": contract.code}
        )
    return render(
        request,
        "transfer/contract_card.html",
        {
            "contract": contract,
            "own": row,
            "qr_svg": qr_svg,
            "can_create": permits(contract_key_create, request.user),
        },
    )


@require_POST
@policy(ORGANISATION_ADMINS, description="契約の受け取り鍵の作成(カードの発行)")
def contract_key_create(request, contract_id: int):
    contract = _contract_for(request, contract_id)
    try:
        contract_keys.create_recipient_key(contract, request.user.organisation, by=request.user)
    except Refused as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(
            request,
            _(
                "契約 %(contract)s の受け取り鍵を作成しました。カードを相手に渡し、"
                "フィンガープリントを読み合わせてください。"
            )
            % {"contract": contract.code},
        )
    return redirect("transfer:contract_card", contract_id=contract.pk)


@require_safe
@policy(HANDOVER_READERS, description="契約の受け取り鍵カードのダウンロード")
def contract_card_download(request, contract_id: int):
    contract = _contract_for(request, contract_id)
    row = contract_keys.recipient_key(contract, request.user.organisation)
    try:
        if row is None:
            raise Refused("no_contract_card", _("この契約の受け取り鍵はまだ作成されていません。"))
        data = contract_keys.export_card(row)
    except Refused as exc:
        messages.error(request, refusal_message(exc))
        return redirect("transfer:contract_card", contract_id=contract.pk)
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="genchi-contract-card-{contract.code}-'
        f'{request.user.organisation.code}.json"'
    )
    return response


@require_POST
@policy(ORGANISATION_ADMINS, description="相手の契約の受け取り鍵カードの登録")
def contract_card_import(request):
    form = ContractCardImportForm(request.POST, request.FILES, prefix="ccard")

    def registered(row) -> str:
        return _("契約 %(contract)s の %(org)s の受け取り鍵カードを登録しました。") % {
            "contract": row.contract.code,
            "org": row.subject.name,
        }

    return _register_card(
        request, form, contract_keys.import_card, registered, "contract_card_form"
    )


# --- packages -----------------------------------------------------------------------------


@require_safe
@policy(HANDOVER_READERS, description="受け渡しパッケージと受け渡し票の一覧")
def package_list(request):
    return render(
        request,
        "transfer/package_list.html",
        {
            "packages": selectors.packages_for(request.user)[:200],
            "batches": selectors.sendable_for(request.user),
            "can_export": permits(package_export, request.user),
            "can_import": permits(package_import, request.user),
        },
    )


@policy(WARD_WRITERS, description="封緘済みバッチの書き出し(区)", personal_data=True)
def package_export(request):
    batches = selectors.sendable_for(request.user)
    sticks = selectors.writable_sticks(request.user)
    preselect = request.GET.get("batch", "")
    form = ExportForm(
        request.POST or None,
        batches=batches,
        sticks=sticks,
        preselect=int(preselect) if preselect.isdigit() else None,
    )
    if request.method == "POST" and form.is_valid():
        job = services.start_export(
            kind="cases",
            key=form.cleaned_data["batch"],
            stick=form.cleaned_data["stick"],
            passphrase=form.cleaned_data["passphrase"] or None,
            by=request.user,
            delivery=form.cleaned_data["delivery"],
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
            "stick_mounted_here": settings.GENCHI_STICK_MOUNTED_HERE,
        },
    )


@policy(
    HANDOVER_WRITERS,
    description="パッケージの取り込み(受託者: 調査対象者データ、区: 調査結果、双方: 事故報告)",
    personal_data=True,
)
def package_import(request):
    # The ward receives results; the contractor receives cases; either an incident report.
    usual = "results" if has_role(request.user, WARD_WRITERS) else "cases"
    kinds = [(usual, Package.Kind(usual).label), ("incident", Package.Kind.INCIDENT.label)]
    form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds)
    kind = usual
    if request.method == "POST" and form.is_valid():
        kind = form.chosen_kind()
        job = services.start_import(
            form.cleaned_data["package"],
            passphrase=form.cleaned_data["passphrase"] or None,
            giver_name=form.cleaned_data["giver_name"],
            stick_label=form.cleaned_data["stick_label"],
            handed_at=form.cleaned_data["handed_at"],
            by=request.user,
            kind=kind,
        )
        return redirect("transfer:handover_job", job_id=job.pk)
    return render(request, "transfer/import.html", {"form": form, "kind": kind})


def _job_for(request, job_id: int) -> HandoverJob:
    job = get_object_or_404(selectors.handover_jobs_for(request.user), pk=job_id)
    interrupt_if_stale(job)  # a job whose worker died is shown interrupted, to restart
    return job


def _job_done(request, job: HandoverJob) -> str | None:
    """Where a finished import leads: its slip, with the job's words. A finished export
    stays on its page: the package to download (or where it was written), the slip and
    the ledger."""
    if job.direction == HandoverJob.Direction.EXPORT:
        return None
    if job.job_state == JobState.SUCCEEDED and job.slip_id:
        messages.success(request, job.job_message)
        return reverse("transfer:slip_detail", kwargs={"slip_id": job.slip_id})
    return None


@require_safe
@policy(HANDOVER_WRITERS, description="パッケージの書き出し・取り込みの進み具合")
def handover_job(request, job_id: int):
    job = _job_for(request, job_id)
    target = _job_done(request, job)
    if target:
        return redirect(target)
    package = job.package if job.job_state == JobState.SUCCEEDED else None
    return render(
        request,
        "transfer/job.html",
        {"job": job, "states": JobState, **_delivery_context(request, package)},
    )


def _delivery_context(request, package: Package | None) -> dict:
    """What a page needs to show how a sent package reached (or is to reach) its stick."""
    if package is None or package.direction != Package.Direction.OUTGOING:
        return {"package": package, "can_download": False}
    return {
        "package": package,
        "can_download": services.downloadable(package) and permits(package_download, request.user),
        "folder_shown": services.usb_folder_shown(package.stick) if package.stick_id else "",
        "deliveries": Package.Delivery,
    }


@require_safe
# The ward's cases packages, and the contractor's result packages (issue 15 item 6).
@policy(HANDOVER_WRITERS, description="書き出したパッケージのダウンロード(USBメモリへの保存用)")
def package_download(request, package_id: int):
    """The package file as it was written (encrypted), to save onto the stick; each
    download is logged and put in the ledger. Allowed until the handover is confirmed."""
    package = get_object_or_404(
        selectors.packages_for(request.user).filter(direction=Package.Direction.OUTGOING),
        pk=package_id,
    )
    try:
        path = services.download_package(package, by=request.user)
    except services.Refusal as exc:
        messages.error(request, refusal_message(exc))
        return redirect("transfer:slip_detail", slip_id=package.slip.pk)
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=package.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-SHA256"] = package.file_sha256
    return response


@require_safe
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


def _slip_for(request, slip_id: int) -> HandoverSlip:
    return get_object_or_404(selectors.slips_for(request.user), pk=slip_id)


def _slip_page(request, slip: HandoverSlip, *, receive_form=None, confirm_form=None):
    return render(
        request,
        "transfer/slip_detail.html",
        {
            "slip": slip,
            **_delivery_context(request, slip.package),
            "can_receive": permits(slip_receive, request.user),
            "can_confirm": permits(slip_confirm, request.user),
            "receive_form": receive_form or ReceiveForm(prefix="receive"),
            "confirm_form": confirm_form or ConfirmForm(prefix="confirm"),
            "states": HandoverSlip.State,
            "outgoing": slip.package.direction == Package.Direction.OUTGOING,
        },
    )


@require_safe
@policy(HANDOVER_READERS, description="受け渡し票の詳細")
def slip_detail(request, slip_id: int):
    return _slip_page(request, _slip_for(request, slip_id))


# A refusal about one field of a slip form, shown at that field.
_REFUSAL_FIELDS = {
    "count_mismatch": "record_count",
    "slip_mismatch": "code",
    "bad_slip_code": "code",
    "no_receiver": "receiver_name",
    "bad_handed_at": "handed_at",
    "handed_at_mismatch": "handed_at",
}


def _slip_action(request, slip_id: int, prefix: str, form_class, act) -> HttpResponse:
    """Check the form posted under `prefix` and record it on the slip with `act` (which
    returns the message): back to the slip, or its page again with the form and what was
    wrong."""
    slip = _slip_for(request, slip_id)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            text = act(slip, form.cleaned_data)
        except Refused as exc:
            field = _REFUSAL_FIELDS.get(exc.code)
            if field in form.fields:  # said at the field it is about
                form.add_error(field, refusal_message(exc))
            else:
                messages.error(request, refusal_message(exc))
        else:
            messages.success(request, text)
            return redirect("transfer:slip_detail", slip_id=slip.pk)
    return _slip_page(request, slip, **{f"{prefix}_form": form})


@require_POST
@policy(HANDOVER_WRITERS, description="受け渡し票: 手渡しの記録(受領済み)")
def slip_receive(request, slip_id: int):
    def receive(slip: HandoverSlip, data: dict) -> str:
        services.mark_received(
            slip,
            by=request.user,
            receiver_name=data["receiver_name"],
            handed_at=data["handed_at"],
        )
        return _("受領を記録しました。")

    return _slip_action(request, slip_id, "receive", ReceiveForm, receive)


@require_POST
@policy(HANDOVER_WRITERS, description="受け渡し票: 票の内容の確認")
def slip_confirm(request, slip_id: int):
    def confirm(slip: HandoverSlip, data: dict) -> str:
        services.confirm_slip(
            slip,
            code=data["code"],
            record_count=data["record_count"],
            giver_name=data["giver_name"],
            handed_at=data["handed_at"],
            by=request.user,
        )
        return _("受け渡し票を確認済みにしました。")

    return _slip_action(request, slip_id, "confirm", ConfirmForm, confirm)


@require_safe
@policy(HANDOVER_READERS, description="受け渡し票のPDF")
def slip_pdf_download(request, slip_id: int):
    slip = _slip_for(request, slip_id)
    data = slip_pdf(slip)
    record("slip.printed", obj=slip, contract=slip.contract, detail={"number": slip.number})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handover-slip-{slip.number}.pdf"'
    return response


# --- USB ledger ---------------------------------------------------------------------------


def _usb_list_page(request, form: StickRegisterForm | None):
    rows = ledger.ledger_rows(request.user.organisation)
    return render(
        request,
        "transfer/usb_list.html",
        {
            "rows": rows,
            "form": form,
            "overdue": [r for r in rows if r.overdue],
            "today": format_date(timezone.localdate()),
        },
    )


@require_safe
@policy(WARD_READERS, description="USBメモリ管理台帳")
def usb_list(request):
    form = StickRegisterForm() if permits(usb_register, request.user) else None
    return _usb_list_page(request, form)


@require_POST
@policy(WARD_WRITERS, description="USBメモリの登録")
def usb_register(request):
    form = StickRegisterForm(request.POST)
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
    return _usb_list_page(request, form)


def _stick_for(request, stick_id: int) -> UsbStick:
    return get_object_or_404(selectors.sticks_for(request.user), pk=stick_id)


# The forms of a stick's page, by the action each posts to.
_STICK_FORMS = {
    "lend": lambda stick, data=None: LendForm(data, prefix="lend", owner=stick.owner),
    "return": lambda stick, data=None: ReturnForm(data, prefix="return"),
    "inspect": lambda stick, data=None: InspectForm(data, prefix="inspect"),
    "wipe": lambda stick, data=None: WipeForm(data, prefix="wipe"),
}


def _usb_page(request, stick: UsbStick, posted: dict | None = None):
    """The stick's page; `posted` holds the one form just sent back, with its errors."""
    forms = {name: build(stick) for name, build in _STICK_FORMS.items()} | (posted or {})
    can_write = permits(usb_inspect, request.user)
    events = list(stick.events.select_related("package", "loan").order_by("at", "id"))
    return render(
        request,
        "transfer/usb_detail.html",
        {
            "stick": stick,
            "state": ledger.stick_state(stick, events),
            "loan": ledger.open_loan(stick),
            "carried": [e.package for e in ledger.awaiting_handover(stick, events)],
            "events": events[::-1],
            "loans": stick.loans.select_related("borrower_org", "package").order_by("-lent_at"),
            "forms": forms,
            "can_write": can_write,
            "folder_files": _folder_files(stick) if can_write else [],
        },
    )


def _folder_files(stick: UsbStick) -> list[str]:
    folder = services.usb_folder(stick)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file())


@require_safe
@policy(WARD_READERS, description="USBメモリの記録")
def usb_detail(request, stick_id: int):
    return _usb_page(request, _stick_for(request, stick_id))


def _stick_action(request, stick_id: int, name: str, act) -> HttpResponse:
    """Check the posted form `name` and record it with `act`: back to the stick's page, or
    the page again with the form and what was wrong (the ledger's refusal included)."""
    stick = _stick_for(request, stick_id)
    form = _STICK_FORMS[name](stick, request.POST)
    if form.is_valid():
        try:
            act(request, stick, form.cleaned_data)
        except ledger.LedgerError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("transfer:usb_detail", stick_id=stick.pk)
    return _usb_page(request, stick, {name: form})


@require_POST
@policy(WARD_WRITERS, description="USBメモリの貸出")
def usb_lend(request, stick_id: int):
    return _stick_action(request, stick_id, "lend", _lend)


@require_POST
@policy(WARD_WRITERS, description="USBメモリの返却")
def usb_return(request, stick_id: int):
    return _stick_action(request, stick_id, "return", _return)


@require_POST
@policy(WARD_WRITERS, description="USBメモリの点検")
def usb_inspect(request, stick_id: int):
    return _stick_action(request, stick_id, "inspect", _inspect)


@require_POST
@policy(WARD_WRITERS, description="USBメモリの消去・初期化")
def usb_wipe(request, stick_id: int):
    return _stick_action(request, stick_id, "wipe", _wipe)


def _lend(request, stick: UsbStick, data: dict) -> None:
    loan = ledger.lend_stick(stick, by=request.user, **data)
    messages.success(
        request,
        _("%(stick)s を %(borrower)s に貸し出しました。")
        % {"stick": stick.label, "borrower": loan.borrower_name},
    )


def _return(request, stick: UsbStick, data: dict) -> None:
    ledger.return_stick(stick, by=request.user, returned_by_name=data["returned_by_name"])
    messages.success(
        request,
        _("%(stick)s の返却を記録しました。消去・初期化を行ってください。")
        % {"stick": stick.label},
    )


def _inspect(request, stick: UsbStick, data: dict) -> None:
    ledger.inspect_stick(stick, ok=data["result"] == "ok", note=data["note"], by=request.user)
    messages.success(request, _("点検を記録しました。"))


def _wipe(request, stick: UsbStick, data: dict) -> None:
    folder = services.usb_folder(stick)
    _event, report = ledger.wipe_stick(
        stick,
        method=data["method"],
        folder=folder if folder.is_dir() else None,
        performed_by=data["performed_by"],
        note=data["note"],
        by=request.user,
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


@require_safe
@policy(WARD_READERS, description="USBメモリ管理台帳のPDF")
def usb_ledger_pdf(request):
    data = ledger_pdf(request.user.organisation)
    record("usb.ledger_exported", detail={"format": "pdf"})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="usb-ledger.pdf"'
    return response


@require_safe
@policy(WARD_READERS, description="USBメモリ管理台帳のExcel")
def usb_ledger_xlsx(request):
    data = ledger_xlsx(request.user.organisation)
    record("usb.ledger_exported", detail={"format": "xlsx"})
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="usb-ledger.xlsx"'
    return response

"""Pages of a contract's closing: the contractor's erasure with the ward present (start,
witness, erase, certificate) and the ward's certificates (import and verify, the witness
code). Thin: each write is its own POST view calling the service."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import CONTRACTOR_ADMINS, WARD_READERS, WARD_WRITERS
from genchi.audit.chain import record
from genchi.core.clientip import client_ip
from genchi.transfer import services as transfer

from . import selectors, services
from .certificate import certificate_pdf, ordered_counts, pending_tablets
from .models import Erasure


class SignInWitnessForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("立会者のユーザー名"), max_length=150)
    password = forms.CharField(
        label=gettext_lazy("パスワード"), widget=forms.PasswordInput(render_value=False)
    )
    token = forms.CharField(label=gettext_lazy("確認コード(認証アプリ)"), max_length=10)


class CodeWitnessForm(forms.Form):
    witness_name = forms.CharField(label=gettext_lazy("立会者の氏名"), max_length=100)
    code = forms.CharField(
        label=gettext_lazy("区の Genchi が示したワンタイムコード"), max_length=16
    )


class WitnessCodeForm(forms.Form):
    contract = forms.CharField(widget=forms.HiddenInput)
    challenge = forms.CharField(label=gettext_lazy("受託者の画面の照合番号"), max_length=12)


class CertificateImportForm(forms.Form):
    package = forms.FileField(label=gettext_lazy("消去証明書のパッケージ(.genchi.age)"))
    giver_name = forms.CharField(
        label=gettext_lazy("渡した人の氏名"), max_length=100, required=False
    )


def _contract(request, code: str):
    contract = selectors.erasable_contracts(request.user).filter(code=code).first()
    if contract is None:
        raise Http404
    return contract


@require_safe
@policy(CONTRACTOR_ADMINS, description="契約の消去(受託者)の一覧")
def erasure_index(request):
    rows = [
        {
            "contract": c,
            "erasure": services.erasure_of(c),
            "blockers": services.blockers(c),
        }
        for c in selectors.erasable_contracts(request.user)
    ]
    return render(request, "erasure/index.html", {"rows": rows})


def _page(request, contract, *, sign_in_form=None, code_form=None, status: int = 200):
    erasure = selectors.erasure_for(request.user, contract)
    certificate = erasure.certificate if erasure and erasure.certified_at else None
    return render(
        request,
        "erasure/erasure.html",
        {
            "contract": contract,
            "erasure": erasure,
            "states": Erasure.State,
            "blockers": services.blockers(contract) if erasure is None else [],
            "sign_in_form": sign_in_form or SignInWitnessForm(),
            "code_form": code_form or CodeWitnessForm(),
            "certificate": certificate,
            "counts": ordered_counts((certificate or {}).get("counts", {})),
            "pending": pending_tablets(certificate) if certificate else [],
            "can_start": permits(erasure_start, request.user),
        },
        status=status,
    )


@require_safe
@policy(CONTRACTOR_ADMINS, description="契約の消去(立会い・進み具合・証明書)")
def erasure_page(request, code: str):
    return _page(request, _contract(request, code))


def _refused(request, contract, exc: services.ErasureRefused, **forms_):
    messages.error(request, exc.message)
    return _page(request, contract, status=400, **forms_)


@require_POST
@policy(CONTRACTOR_ADMINS, description="契約の消去を始める")
def erasure_start(request, code: str):
    contract = _contract(request, code)
    try:
        services.start_erasure(contract, by=request.user)
    except services.ErasureRefused as exc:
        return _refused(request, contract, exc)
    return redirect("erasure:erasure", code=contract.code)


def _open_erasure(request, contract) -> Erasure:
    erasure = selectors.erasure_for(request.user, contract)
    if erasure is None:
        raise Http404
    return erasure


@require_POST
@policy(CONTRACTOR_ADMINS, description="立会者の確認(区の職員のサインイン)")
def witness_sign_in(request, code: str):
    contract = _contract(request, code)
    erasure = _open_erasure(request, contract)
    form = SignInWitnessForm(request.POST)
    if not form.is_valid():
        return _page(request, contract, sign_in_form=form, status=400)
    try:
        services.confirm_by_sign_in(
            erasure,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            token=form.cleaned_data["token"],
            ip=client_ip(request),
            by=request.user,
        )
    except services.ErasureRefused as exc:
        return _refused(request, contract, exc, sign_in_form=SignInWitnessForm())
    return redirect("erasure:erasure", code=contract.code)


@require_POST
@policy(CONTRACTOR_ADMINS, description="立会者の確認(区のワンタイムコード)")
def witness_code(request, code: str):
    contract = _contract(request, code)
    erasure = _open_erasure(request, contract)
    form = CodeWitnessForm(request.POST)
    if not form.is_valid():
        return _page(request, contract, code_form=form, status=400)
    try:
        services.confirm_by_code(
            erasure,
            witness_name=form.cleaned_data["witness_name"],
            code=form.cleaned_data["code"],
            by=request.user,
        )
    except services.ErasureRefused as exc:
        return _refused(request, contract, exc, code_form=form)
    return redirect("erasure:erasure", code=contract.code)


@require_POST
@policy(CONTRACTOR_ADMINS, description="消去を実行する")
def erasure_run(request, code: str):
    contract = _contract(request, code)
    erasure = _open_erasure(request, contract)
    try:
        services.erase(erasure, by=request.user)
    except services.ErasureRefused as exc:
        return _refused(request, contract, exc)
    messages.success(request, _("消去が終わり、消去証明書を発行しました。"))
    return redirect("erasure:erasure", code=contract.code)


@require_POST
@policy(CONTRACTOR_ADMINS, description="消去証明書のパッケージを書き出す")
def certificate_package(request, code: str):
    contract = _contract(request, code)
    erasure = _open_erasure(request, contract)
    folder = transfer.download_folder(contract.contractor)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        result = services.write_certificate_package(
            erasure, folder, by=request.user, delivery=services.DOWNLOAD
        )
    except services.ErasureRefused as exc:
        return _refused(request, contract, exc)
    except transfer.Refusal as exc:
        messages.error(request, transfer.refusal_message(exc))
        return _page(request, contract, status=400)
    messages.success(
        request, _("消去証明書のパッケージを書き出しました。受け渡し票からダウンロードできます。")
    )
    return redirect("transfer:slip_detail", slip_id=result.slip.pk)


def _pdf_response(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_safe
@policy(CONTRACTOR_ADMINS, description="消去証明書(PDF・受託者)")
def certificate_pdf_download(request, code: str):
    contract = _contract(request, code)
    erasure = _open_erasure(request, contract)
    if not erasure.certified_at:
        raise Http404
    record("erasure.certificate_printed", contract=contract, detail={"side": "contractor"})
    return _pdf_response(certificate_pdf(erasure.certificate), f"erasure-{contract.code}.pdf")


# --- the ward ------------------------------------------------------------------------------


def _ward_page(request, *, import_form=None, shown_code=None, status: int = 200):
    contracts = list(selectors.ward_contracts(request.user))
    rows = [{"contract": c, "record": selectors.erasure_record(c)} for c in contracts]
    return render(
        request,
        "erasure/certificates.html",
        {
            "rows": rows,
            "import_form": import_form or CertificateImportForm(),
            "code_form": WitnessCodeForm(),
            "shown_code": shown_code,
            "can_write": permits(certificate_import, request.user),
        },
        status=status,
    )


@require_safe
@policy(WARD_READERS, description="消去証明書と契約の終了(区)")
def certificates(request):
    return _ward_page(request)


@require_POST
@policy(WARD_WRITERS, description="消去証明書の取り込みと検証")
def certificate_import(request):
    form = CertificateImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _ward_page(request, import_form=form, status=400)
    upload = form.cleaned_data["package"]
    work = Path(tempfile.mkdtemp(prefix="certificate-", dir=settings.DATA_DIR))
    try:
        path = work / Path(upload.name).name
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        result = transfer.receive_package(
            path,
            kind="certificate",
            by=request.user,
            giver_name=form.cleaned_data["giver_name"],
        )
    except transfer.Refusal as exc:
        messages.error(request, transfer.refusal_message(exc))
        return _ward_page(request, import_form=CertificateImportForm(), status=400)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    messages.success(
        request,
        _("消去証明書を検証し、契約 %(contract)s を終了しました。")
        % {"contract": result.package.contract.code},
    )
    return redirect("erasure:certificates")


@require_POST
@policy(WARD_WRITERS, description="消去の立会いコードを表示する")
def witness_code_issue(request):
    form = WitnessCodeForm(request.POST)
    contract = None
    if form.is_valid():
        contract = (
            selectors.ward_contracts(request.user)
            .filter(code=form.cleaned_data["contract"])
            .first()
        )
    if contract is None:
        messages.error(request, _("契約と照合番号を指定してください。"))
        return _ward_page(request, status=400)
    try:
        code = services.issue_witness_code(
            contract, form.cleaned_data["challenge"], by=request.user
        )
    except services.ErasureRefused as exc:
        messages.error(request, exc.message)
        return _ward_page(request, status=400)
    return _ward_page(request, shown_code={"contract": contract, "code": code})


@require_safe
@policy(WARD_READERS, description="消去証明書(PDF・区の検証済み)")
def ward_certificate_pdf(request, code: str):
    received = get_object_or_404(selectors.certificates_for(request.user), contract__code=code)
    record("erasure.certificate_printed", contract=received.contract, detail={"side": "ward"})
    return _pdf_response(
        certificate_pdf(received.certificate, verified_at=received.verified_at),
        f"erasure-{code}-verified.pdf",
    )

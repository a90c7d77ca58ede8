"""The tablet's JSON API (/tablet/api/...). Not a session: every request after enrolment
is signed by the device's own key (signing.py) and, for sync, carries the token of a
sign-in made at the office. CSRF protection is for cookies; nothing here reads one."""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from genchi.access.policy import policy
from genchi.audit.middleware import client_ip

from . import batch, services, signing, uploads
from .services import Refused

MAX_BODY = 64 * 1024


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def _refused(exc: Refused) -> JsonResponse:
    return _json({"error": exc.message, "reason": exc.reason, "wipe": exc.wipe}, exc.status)


def _body(request) -> dict:
    if len(request.body) > MAX_BODY:
        raise Refused(_("送られたデータが大きすぎます。"), status=413, reason="size")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(_("送られたデータを読めませんでした。"), status=400, reason="json") from exc
    if not isinstance(data, dict):
        raise Refused(_("送られたデータを読めませんでした。"), status=400, reason="json")
    return data


def _check_signed(request, public_key: str) -> None:
    meta = request.META
    services.check_signature(
        public_key,
        method=request.method,
        path=request.path,
        time=meta.get("HTTP_X_TABLET_TIME", ""),
        nonce=meta.get("HTTP_X_TABLET_NONCE", ""),
        body=request.body,
        signature=meta.get("HTTP_X_TABLET_SIGNATURE", ""),
    )


def _signed_device(request, *, step: str):
    """The enrolled device that signed this request (network, signature, replay, revocation
    checked in that order)."""
    ip = client_ip(request)
    device = services.device_of(request.META.get("HTTP_X_TABLET_DEVICE", ""))
    services.check_network(ip, device.contract.code, step=step, device=device)
    _check_signed(request, device.public_key)
    services.use_nonce(device, request.META.get("HTTP_X_TABLET_NONCE", ""))
    services.refuse_if_revoked(device, ip=ip)
    return device


@csrf_exempt
@require_POST
@policy(public=True, description="タブレットの登録申請(端末の公開鍵、署名つき)")
def enrol(request):
    try:
        data = _body(request)
        services.check_network(client_ip(request), None, step="enrol")
        key = str(data.get("public_key", ""))
        try:
            signing.public_key_from(key)
        except signing.BadKey as exc:
            raise Refused(_("端末の鍵を読めませんでした。"), status=400, reason="key") from exc
        _check_signed(request, key)
        enrolment = services.start_enrolment(key)
    except Refused as exc:
        return _refused(exc)
    return _json({"code": enrolment.code, "expires_at": enrolment.expires_at.isoformat()})


@csrf_exempt
@require_POST
@policy(public=True, description="タブレットの登録状況(署名つき)")
def enrol_status(request):
    try:
        data = _body(request)
        key = str(data.get("public_key", ""))
        try:
            signing.public_key_from(key)
        except signing.BadKey as exc:
            raise Refused(_("端末の鍵を読めませんでした。"), status=400, reason="key") from exc
        _check_signed(request, key)
        state = services.enrolment_state(key)
    except Refused as exc:
        return _refused(exc)
    return _json(state)


@csrf_exempt
@require_POST
@policy(public=True, description="タブレットのサインイン用の確認値")
def challenge(request):
    try:
        data = _body(request)
        device = services.device_of(str(data.get("device", "")))
        found = services.new_challenge(device, ip=client_ip(request))
    except Refused as exc:
        return _refused(exc)
    return _json({"challenge": found.value})


@csrf_exempt
@require_POST
@policy(public=True, description="タブレットのサインイン(ID・パスワードと端末の署名)")
def signin(request):
    try:
        data = _body(request)
        device = _signed_device(request, step="signin")
        token, expires = services.sign_in(
            request,
            device,
            username=str(data.get("username", ""))[:150],
            password=str(data.get("password", ""))[:4096],
            challenge=str(data.get("challenge", ""))[:64],
            ip=client_ip(request),
        )
    except Refused as exc:
        return _refused(exc)
    return _json(
        {
            "token": token,
            "expires_at": expires.isoformat(),
            "surveyor": device.surveyor.username,
            "contract": device.contract.title,
        }
    )


@csrf_exempt
@require_POST
@policy(public=True, description="タブレットへの同期(割り当てられた案件と利用期限、署名つき)")
def sync_down(request):
    try:
        data = _body(request)
        device = _signed_device(request, step="sync")
        services.check_session(device, request.META.get("HTTP_X_TABLET_TOKEN", ""))
        held = [str(r)[:32] for r in data.get("held", []) if isinstance(r, str)][:5000]
        wanted = data.get("wanted")
        if wanted is not None:
            wanted = [str(r)[:32] for r in wanted if isinstance(r, str)][:5000]
        opened = data.get("opened", [])
        logged = services.log_opened_cases(
            device, opened if isinstance(opened, list) else [], ip=client_ip(request)
        )
        payload = services.sync_down(device, held=held, wanted=wanted, ip=client_ip(request))
        payload["opened_logged"] = logged
    except Refused as exc:
        return _refused(exc)
    return _json(payload)


def _session_device(request, *, step: str):
    device = _signed_device(request, step=step)
    services.check_session(device, request.META.get("HTTP_X_TABLET_TOKEN", ""))
    return device


def _batch_body(request) -> bytes:
    """The batch's bytes, read up to the limit (Django's in-memory limit is for forms;
    the body is parsed by batch.py, in memory, once its signature is checked)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > batch.MAX_BYTES:
        raise Refused(uploads.too_large(), status=413, reason="size")
    data = request.read(batch.MAX_BYTES + 1)
    if len(data) > batch.MAX_BYTES:
        raise Refused(uploads.too_large(), status=413, reason="size")
    request._body = data  # the signature is checked over these bytes
    return data


@csrf_exempt
@require_POST
@policy(public=True, description="タブレットからの同期(訪問と写真をまとめて送信、署名つき)")
def sync_up(request):
    """Several visits and their photos in one request (batch.py); the answer lists each
    visit's state, as `uploads.answer` gives it."""
    try:
        body = _batch_body(request)
        device = _session_device(request, step="sync_up")
        try:
            visits, photos = batch.decode(request.META.get("CONTENT_TYPE", ""), body)
        except batch.Unreadable as exc:
            raise Refused(
                _("送られたデータを読めませんでした。"), status=400, reason="json"
            ) from exc
        results = uploads.receive_batch(device, visits, photos, ip=client_ip(request))
    except Refused as exc:
        return _refused(exc)
    return _json({"visits": results})

"""The tablet app's shell (public: it holds no personal data), its service worker and
manifest, and the office pages where a manager enrols and revokes tablets."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import policy
from genchi.access.roles import CONTRACTOR_ADMINS

from . import selectors, services
from .strings import STRINGS

# The app shell: every file the app needs offline. Never an API answer, never data.
SHELL_FILES = [
    "tablet/tablet.css",
    "tablet/app.js",
    "tablet/store.js",
    "tablet/keys.js",
    "tablet/api.js",
    "tablet/guard.js",
    "tablet/camera.js",
    "tablet/rules.js",
    "tablet/words.js",
    "tablet/vendor/idb/index.js",
    "tablet/icon.svg",
    "tablet/daymap.js",
    # The route's map: Leaflet and the office's base-map script (code, counted in the shell).
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/leaflet.css",
    "geo/map.js",
    "geo/map.css",
]
# Map data, kept by the service worker beside the shell (not personal: the outline of
# Japan and the municipalities' names); the route's stops come only from the sealed cases.
MAP_FILES = ["geo/japan.geojson"]
SHELL_VERSION = "4"  # 4: sync up in batches (api.js, app.js)


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@policy(public=True, description="調査用タブレットのアプリ(個人情報を含まない画面の枠)")
def app(request):
    return render(
        request,
        "tablet/app.html",
        {"idle_lock_seconds": services.idle_lock_seconds()},
    )


@require_safe
@policy(public=True, description="タブレットのサービスワーカー")
def service_worker(request):
    files = ["/tablet/", "/tablet/strings.json", "/tablet/manifest.webmanifest"]
    # Both names of each static file: the page links the stored (in production hashed)
    # name, while the modules import each other by their plain relative names.
    for name in SHELL_FILES + MAP_FILES:
        for url in (static(name), settings.STATIC_URL + name):
            if url not in files:
                files.append(url)
    body = (
        f"const SHELL_VERSION = {json.dumps(SHELL_VERSION)};\n"
        f"const SHELL_FILES = {json.dumps(files)};\n"
    ) + _worker_source()
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    return _no_store(response)


def _worker_source() -> str:
    from pathlib import Path

    return (Path(__file__).parent / "worker.js").read_text(encoding="utf-8")


@require_safe
@policy(public=True, description="タブレットのアプリ情報(manifest)")
def manifest(request):
    data = {
        "name": str(STRINGS["app_title"]),
        "short_name": "Genchi",
        "start_url": "/tablet/",
        "scope": "/tablet/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "lang": request.LANGUAGE_CODE,
        "icons": [{"src": static("tablet/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )


@require_safe
@policy(public=True, description="タブレットの画面の文言(翻訳済み)")
def strings(request):
    data = {key: str(value) for key, value in STRINGS.items()}
    data["_lang"] = request.LANGUAGE_CODE
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


# --- Office -------------------------------------------------------------------------------


@policy(CONTRACTOR_ADMINS, description="調査用タブレットの登録と失効")
def devices(request):
    choices = selectors.surveyor_choices(request.user)
    contracts = {str(c.pk): (c, people) for c, people in choices}
    if request.method == "POST":
        code = request.POST.get("code", "")
        contract_id = request.POST.get("contract", "")
        person_id = request.POST.get("surveyor", "")
        label = request.POST.get("label", "").strip()
        found = contracts.get(contract_id)
        surveyor = None
        if found:
            surveyor = next((p for p in found[1] if str(p.pk) == person_id), None)
        if found is None:
            messages.error(request, _("契約を選んでください。"))
        elif surveyor is None:
            messages.error(
                request, _("調査員を選んでください(この契約の調査員に指定された人だけです)。")
            )
        elif not services.normalise_code(code):
            messages.error(request, _("タブレットに表示された登録コードを入力してください。"))
        else:
            try:
                device = services.confirm_enrolment(
                    code, contract=found[0], surveyor=surveyor, label=label, by=request.user
                )
            except services.Refused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("%(who)s さんのタブレットを登録しました。") % {"who": device.surveyor},
                )
                return redirect("tablet:devices")
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    return render(
        request,
        "tablet/devices.html",
        {"devices": selectors.devices_for(request.user), "choices": choices},
    )


@require_POST
@policy(CONTRACTOR_ADMINS, description="調査用タブレットを失効させる(次の接続で消去)")
def device_revoke(request, device_id: int):
    device = get_object_or_404(selectors.devices_for(request.user), pk=device_id)
    services.revoke(device, by=request.user, reason=request.POST.get("reason", "").strip())
    messages.success(request, _("端末を失効させました。次に接続したときにデータが消去されます。"))
    return redirect("tablet:devices")

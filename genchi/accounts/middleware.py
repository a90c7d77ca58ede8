import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from genchi.audit.chain import record


class IdleTimeoutMiddleware:
    """Signs a person out after GENCHI_IDLE_TIMEOUT_SECONDS without a request (C-S2.3)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get("last_seen")
            if last is not None and now - last > settings.GENCHI_IDLE_TIMEOUT_SECONDS:
                record("session.expired", obj=request.user, detail={"idle_seconds": now - last})
                logout(request)
                target = f"{reverse('accounts:login')}?expired=1"
                if request.headers.get("HX-Request"):
                    response = redirect(target)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
            request.session["last_seen"] = now
        return self.get_response(request)

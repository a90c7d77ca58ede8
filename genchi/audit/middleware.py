from django.conf import settings

from genchi.core.acting import _current, actor_for_user


def client_ip(request) -> str:
    # Behind a reverse proxy in production the proxy sets X-Forwarded-For; trust it only then.
    if settings.PRODUCTION and request.META.get("HTTP_X_FORWARDED_FOR"):
        return request.META["HTTP_X_FORWARDED_FOR"].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


class RequestContextMiddleware:
    """Makes the signed-in person the actor of every log entry written during the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(actor_for_user(getattr(request, "user", None), ip=client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)

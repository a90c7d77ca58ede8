from genchi.core.acting import _current, actor_for_user
from genchi.core.clientip import client_ip

__all__ = ["RequestContextMiddleware", "client_ip"]


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

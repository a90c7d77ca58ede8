from genchi import __version__

from .navigation import entries_for


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return {"nav_items": [], "genchi_version": __version__}
    return {"nav_items": entries_for(user, request.path), "genchi_version": __version__}

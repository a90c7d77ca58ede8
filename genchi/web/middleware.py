from django.conf import settings
from django.utils import translation


class JapaneseFirstLocaleMiddleware:
    """Japanese unless the person chose another language (D7).

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is ignored: a ward's
    or contractor's device set to English still shows the Japanese UI until someone picks
    English with the language switch (which sets the language cookie).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch = response.get("Vary", "")
        if "Cookie" not in patch:
            response["Vary"] = f"{patch}, Cookie" if patch else "Cookie"
        translation.deactivate()
        return response

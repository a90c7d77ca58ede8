"""Middleware of the UI shell: the language of the pages, and a page for a wrong method."""

from django.conf import settings
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _


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


class MethodNotAllowedPage:
    """An action's address opened as a page (a bookmark, a reload after its form was shown
    again with an error) answers 405 with a page in words, not Django's empty one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content:
            return response
        page = render(
            request,
            "web/error.html",
            {
                "title": _("この画面は直接開けません"),
                "message": _(
                    "この操作は画面のボタンから行います。前の画面に戻って操作してください。"
                ),
                "status": 405,
            },
            status=405,
        )
        page["Allow"] = response["Allow"]
        return page

"""The app shell is public and holds no personal data; the service worker caches only
the shell; the manifest and the word catalogue are served by Django (translatable)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_shell_manifest_worker_and_strings():
    client = Client()
    page = client.get("/tablet/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'type="module"' in html and "<script>" not in html
    assert "script-src 'self'" in page["Content-Security-Policy"]
    worker = client.get("/tablet/sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    text = worker.content.decode()
    assert "/tablet/api/" not in text.split("const CACHE")[0]  # no API answer is cached
    assert "/static/tablet/app.js" in text
    # The route's map offline: Leaflet and the base map are kept by the worker.
    assert "/static/vendor/leaflet/leaflet.js" in text and "/static/geo/japan.geojson" in text
    manifest = client.get("/tablet/manifest.webmanifest").json()
    assert manifest["start_url"] == "/tablet/" and manifest["display"] == "standalone"
    strings = client.get("/tablet/strings.json").json()
    assert strings["unlock"] == "開く"
    english = client.get("/tablet/strings.json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200

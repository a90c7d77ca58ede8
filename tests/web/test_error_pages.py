"""Error pages: in Japanese (a refused form, an unknown address, an action's address
opened as a page), the first two logged."""

import pytest
from django.test import Client

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_missing_csrf_token_is_refused_in_japanese():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/signin/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "送信を受け付けられませんでした" in response.content.decode()
    assert AuditEntry.objects.filter(action="http.csrf_failure").exists()


def test_unknown_url_gets_a_japanese_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="http.not_found", detail__path="/no/such/page/"
    ).exists()


def test_an_action_opened_as_a_page_says_so_in_japanese(client_for):
    response = client_for(Role.WARD_STAFF).get("/batches/new/")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "この画面は直接開けません" in response.content.decode()

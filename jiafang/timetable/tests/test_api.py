"""Parent links in the JSON API (R8, R23.2; SECURITY.md B12): the same rules as the page."""

from __future__ import annotations

import hashlib

from django.test import Client
from django_scopes import scopes_disabled

from jiafang.accounts.services import token_create
from jiafang.timetable.models import ParentLink
from jiafang.timetable.tests.conftest import schedule
from jiafang.visits.services import visit_cancel


def test_api_creates_a_link_once_and_revokes_the_previous(district, campaign):
    """POST /api/v1/timetable/visits/{id}/parent-link with a bearer token: 201 with the URL (shown
    this once, only its hash stored) and the expiry; a second call revokes the first link."""
    visit = schedule(district, campaign)
    _token, raw = token_create(user=district.users["head_a1"], name="脚本")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    first = api.post(f"/api/v1/timetable/visits/{visit.pk}/parent-link")
    assert first.status_code == 201
    data = first.json()
    assert data["url"].startswith("http://testserver/p/") and data["expires_at"]
    link_token = data["url"].rstrip("/").rsplit("/", 1)[1]
    with scopes_disabled():
        assert ParentLink.objects.get(revoked_at=None).token_hash == hashlib.sha256(
            link_token.encode()).hexdigest()
    parent = Client()
    assert parent.get(data["url"].replace("http://testserver", "")).status_code == 302
    assert "head_a1" in parent.get("/p/").content.decode()
    second = api.post(f"/api/v1/timetable/visits/{visit.pk}/parent-link").json()
    assert second["url"] != data["url"]
    assert Client().get(f"/p/{link_token}/", follow=True).status_code == 404


def test_api_parent_link_follows_the_visit_rules(district, campaign, client):
    """404 out of scope (like a missing id), 403 seen but not allowed, 422 closed visit."""
    visit = schedule(district, campaign)
    url = f"/api/v1/timetable/visits/{visit.pk}/parent-link"
    client.force_login(district.users["subject_a1"])
    assert client.post(url).status_code == 403
    client.force_login(district.users["head_b1"])
    response = client.post(url)
    assert response.status_code == 404
    assert client.post("/api/v1/timetable/visits/987654/parent-link").content == response.content
    with scopes_disabled():
        visit_cancel(visit=visit, reason="临时有事", by=district.users["head_a1"])
    client.force_login(district.users["head_a1"])
    response = client.post(url)
    assert response.status_code == 422 and "errors" in response.json()
    assert Client().post(url).status_code == 401

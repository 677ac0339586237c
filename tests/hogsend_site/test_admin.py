"""The API key admin: the secret is shown once, the digest never."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from hogsend_site.auth import api_key_create
from hogsend_site.models import ApiKey

pytestmark = pytest.mark.django_db


def test_api_key_changelist_and_change_page_render_without_the_digest(admin_client):
    key, _ = api_key_create(name="app", scopes=["ingest"])
    listing = admin_client.get(reverse("admin:hogsend_site_apikey_changelist"))
    page = admin_client.get(reverse("admin:hogsend_site_apikey_change", args=[key.pk]))
    assert listing.status_code == page.status_code == 200
    for response in (listing, page):
        assert key.prefix.encode() in response.content
        assert key.digest.encode() not in response.content


def test_creating_a_key_in_the_admin_shows_a_working_secret_once(admin_client):
    response = admin_client.post(reverse("admin:hogsend_site_apikey_add"),
                                 {"name": "zapier", "scopes": ["ingest"]}, follow=True)
    assert response.status_code == 200
    key = ApiKey.objects.get(name="zapier")
    messages = " ".join(str(m) for m in get_messages(response.wsgi_request))
    [secret] = re.findall(r"<code>(hsk_[\w-]+)</code>", messages)
    assert key.scopes == ["ingest"] and key.digest == ApiKey.digest_of(secret)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.post("/v1/events", {"name": "a", "userId": "u1"},
                       format="json").status_code == 202
    again = admin_client.get(reverse("admin:hogsend_site_apikey_change", args=[key.pk]))
    assert secret.encode() not in again.content


def test_the_revoke_action_stops_the_key(admin_client):
    key, secret = api_key_create(name="app", scopes=["ingest"])
    admin_client.post(reverse("admin:hogsend_site_apikey_changelist"),
                      {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.post("/v1/events", {"name": "a", "userId": "u1"},
                       format="json").status_code == 401


def test_the_changelist_refuses_a_digest_lookup(admin_client):
    key, _ = api_key_create(name="app", scopes=["ingest"])
    response = admin_client.get(reverse("admin:hogsend_site_apikey_changelist"),
                                {"digest": key.digest})
    assert response.status_code == 400


def test_the_audit_log_is_listed_and_read_only(admin_client):
    from hogsend_site.models import AuditLog

    entry = AuditLog.objects.create(actor="ops", action="PUT contact-preferences",
                                    resource="contact", resource_id="u1", detail={"a": 1})
    assert admin_client.get("/admin/hogsend_site/auditlog/").status_code == 200
    page = admin_client.get(f"/admin/hogsend_site/auditlog/{entry.pk}/change/")
    assert page.status_code == 200 and b"contact-preferences" in page.content
    assert admin_client.get("/admin/hogsend_site/auditlog/add/").status_code == 403

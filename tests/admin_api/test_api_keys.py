"""API keys on the admin plane: create (secret shown once), list, revoke."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from hogsend_site.models import ApiKey

pytestmark = pytest.mark.django_db


def client_for(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_create_answers_the_secret_once(admin_api):
    expires = (timezone.now() + timezone.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = admin_api.post("/v1/admin/api-keys",
                              {"name": "backend", "scopes": ["ingest"], "expiresAt": expires},
                              format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("hsk_") and body["keyPrefix"] == body["key"][:12]
    assert (body["name"], body["scopes"], body["expiresAt"]) == ("backend", ["ingest"], expires)
    key = ApiKey.objects.get(pk=body["id"])
    assert body["key"] not in (key.digest, key.prefix)
    listed = admin_api.get("/v1/admin/api-keys").json()
    assert body["key"] not in str(listed)
    assert [k["name"] for k in listed["apiKeys"]] == ["backend", "admin"]
    assert listed["total"] == 2


def test_a_created_key_works_with_its_scope(admin_api):
    secret = admin_api.post("/v1/admin/api-keys", {"name": "b", "scopes": ["ingest"]},
                            format="json").json()["key"]
    ingest = client_for(secret)
    assert ingest.post("/v1/events", {"name": "x", "userId": "u1"},
                       format="json").status_code == 202
    assert ingest.get("/v1/admin/contacts").status_code == 403


def test_a_revoked_key_is_unauthorized(admin_api):
    created = admin_api.post("/v1/admin/api-keys", {"name": "ops", "scopes": ["admin"]},
                             format="json").json()
    ops = client_for(created["key"])
    assert ops.get("/v1/admin/contacts").status_code == 200
    response = admin_api.delete(f"/v1/admin/api-keys/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {"revoked": True}
    denied = ops.get("/v1/admin/contacts")
    assert denied.status_code == 401
    assert denied.json() == {"error": "Unauthorized"}
    listed = {k["id"]: k for k in admin_api.get("/v1/admin/api-keys").json()["apiKeys"]}
    assert listed[created["id"]]["revokedAt"] is not None


def test_revoking_an_unknown_key_is_a_404(admin_api):
    response = admin_api.delete("/v1/admin/api-keys/999999")
    assert response.status_code == 404
    assert response.json() == {"error": "API key not found"}


@pytest.mark.parametrize(("body", "error"), [
    ({"scopes": ["admin"]}, "name: This field is required."),
    ({"name": "x", "scopes": []}, "scopes: Ensure this field has at least 1 elements."),
    ({"name": "x", "scopes": ["full-admin"]}, 'scopes.0: "full-admin" is not a valid choice.'),
    ({"name": "x", "scopes": ["admin"], "expiresAt": "2001-01-01T00:00:00Z"},
     "expiresAt: must be in the future"),
])
def test_create_rejects_a_bad_body(admin_api, body, error):
    response = admin_api.post("/v1/admin/api-keys", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert ApiKey.objects.count() == 1

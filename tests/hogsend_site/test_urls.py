"""The API's edges: JSON 404s for unknown /v1 paths, the public OpenAPI schema and docs."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_an_unknown_v1_path_is_a_json_404_whatever_debug_says(client, settings, debug, method):
    settings.DEBUG = debug
    response = getattr(client, method)("/v1/nope/nothing", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not Found"}


def test_a_trailing_slash_is_not_an_alias_of_an_api_path(api):
    response = api.post("/v1/events/", {"name": "a", "userId": "u1"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_a_wrong_method_on_a_known_path_is_a_json_405(api):
    response = api.get("/v1/events")
    assert response.status_code == 405
    assert "not allowed" in response.json()["error"]


def test_the_openapi_schema_is_public_and_valid(client):
    response = client.get("/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    for path in ("/v1/contacts", "/v1/contacts/find", "/v1/events", "/v1/events/batch"):
        assert path in schema["paths"], path
    assert set(schema["paths"]["/v1/contacts"]) >= {"put", "post", "delete"}


def test_the_schema_generates_without_warnings_and_documents_bearer_keys(tmp_path):
    # --fail-on-warn catches colliding component names and unresolved auth classes.
    target = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
                 "--file", str(target))
    schema = json.loads(target.read_text())
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"bearerAuth": []} in schema["paths"]["/v1/events"]["post"]["security"]
    assert "ContactUpsertInputRequest" in schema["components"]["schemas"]


def test_the_schema_is_yaml_by_default(client):
    response = client.get("/v1/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_the_api_docs_page_is_public(client):
    response = client.get("/v1/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_healthz_reports_the_database(client):
    body = client.get("/healthz").json()
    assert body["status"] == "healthy" and body["database"] == "ok"

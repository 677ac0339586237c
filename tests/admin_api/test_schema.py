"""The OpenAPI schema documents the whole admin plane."""

from __future__ import annotations

import re

import pytest

from tests.admin_api.routes import ADMIN_ROUTES

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def _documented(schema: dict, method: str, path: str) -> dict:
    if path.startswith("/v1/admin/templates/"):
        # `{key}` holds slashes ("support/followup").
        path = path.replace("support/followup", "KEY")
    for documented, operations in schema["paths"].items():
        candidate = documented.replace("{key}", "KEY")
        if _template(candidate).match(path) and method in operations:
            return operations[method]
    raise AssertionError(f"{method.upper()} {path} is not in the schema")


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_every_admin_operation_is_in_the_schema_with_an_operation_id(schema, method, path):
    operation = _documented(schema, method, path)
    assert operation["operationId"].startswith("admin_")
    assert {"bearerAuth": []} in operation["security"]


@pytest.mark.parametrize(("method", "path"), [r for r in ADMIN_ROUTES if r[0] in WRITES])
def test_every_admin_write_has_an_example(schema, method, path):
    operation = _documented(schema, method, path)
    bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
    assert any(media.get("examples") for body in bodies
               for media in body.get("content", {}).values()), (method, path)


def test_list_operations_document_limit_and_offset(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/v1/admin/contacts"]["get"]["parameters"]}
    assert parameters["limit"]["schema"] == {"type": "integer", "maximum": 100, "minimum": 1,
                                             "default": 50}
    assert parameters["offset"]["schema"]["minimum"] == 0

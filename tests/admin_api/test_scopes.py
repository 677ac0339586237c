"""Only an `admin` key reaches the admin plane: `ingest` keys get 403, no key 401."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, resolve
from rest_framework.test import APIClient

from hogsend_site import admin_urls
from tests.admin_api.routes import ADMIN_ROUTES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_an_ingest_key_is_forbidden_on_every_admin_route(api, method, path):
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden: insufficient scope"}


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_no_key_is_unauthorized_on_every_admin_route(db, method, path):
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_admin_key_is_unauthorized(admin_key):
    from django.utils import timezone

    from hogsend_site.models import ApiKey

    ApiKey.objects.update(expires_at=timezone.now())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_key}")
    response = client.get("/v1/admin/contacts")
    assert response.status_code == 401
    assert response.json() == {"error": "API key expired"}


def _mounted_operations() -> set[tuple[str, str]]:
    """(method, route pattern) for every admin view in the URLconf."""
    found = set()
    for pattern in admin_urls.urlpatterns:
        assert isinstance(pattern, URLPattern) and not isinstance(pattern, URLResolver)
        view = pattern.callback.view_class
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                found.add((method, pattern.name))
    return found


def test_the_route_list_covers_every_mounted_admin_operation():
    listed = {(method, resolve(path).url_name) for method, path in ADMIN_ROUTES}
    assert listed == _mounted_operations()


def test_admin_paths_have_no_trailing_slash(admin_api):
    response = admin_api.get("/v1/admin/contacts/")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
    assert all(not re.search(r"/$", path) for _, path in ADMIN_ROUTES)

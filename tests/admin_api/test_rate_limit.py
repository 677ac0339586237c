"""The admin plane allows ADMIN_RATE_LIMIT requests per key (100/min by default)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from hogsend_site.auth import api_key_create

pytestmark = pytest.mark.django_db


def test_every_admin_response_carries_the_rate_limit_headers(admin_api, settings):
    settings.ADMIN_RATE_LIMIT = "100/min"
    first = admin_api.get("/v1/admin/contacts")
    second = admin_api.get("/v1/admin/journeys")
    assert first["X-RateLimit-Limit"] == "100"
    assert first["X-RateLimit-Remaining"] == "99"
    assert second["X-RateLimit-Remaining"] == "98"


@pytest.mark.usefixtures("start_of_a_minute")
def test_a_key_over_the_limit_gets_429_with_retry_after(admin_api, settings):
    settings.ADMIN_RATE_LIMIT = "3/min"
    for _ in range(3):
        assert admin_api.get("/v1/admin/contacts").status_code == 200
    response = admin_api.get("/v1/admin/alerts")
    assert response.status_code == 429
    assert response.json() == {"error": "Rate limit exceeded"}
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Limit"] == "3"
    assert response["X-RateLimit-Remaining"] == "0"


@pytest.mark.usefixtures("start_of_a_minute")
def test_writes_count_against_the_same_budget(admin_api, ada, settings):
    settings.ADMIN_RATE_LIMIT = "2/min"
    admin_api.get("/v1/admin/contacts")
    admin_api.put("/v1/admin/contacts/u_ada/preferences", {"suppressed": True}, format="json")
    response = admin_api.put("/v1/admin/contacts/u_ada/preferences", {"suppressed": False},
                             format="json")
    assert response.status_code == 429


@pytest.mark.usefixtures("start_of_a_minute")
def test_each_key_has_its_own_budget(admin_api, settings):
    settings.ADMIN_RATE_LIMIT = "1/min"
    assert admin_api.get("/v1/admin/contacts").status_code == 200
    assert admin_api.get("/v1/admin/contacts").status_code == 429
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='b', scopes=['admin'])[1]}")
    assert other.get("/v1/admin/contacts").status_code == 200


def test_the_limit_resets_in_the_next_window(admin_api, settings, clock):
    settings.ADMIN_RATE_LIMIT = "1/min"
    assert admin_api.get("/v1/admin/contacts").status_code == 200
    assert admin_api.get("/v1/admin/contacts").status_code == 429
    clock.shift(60)
    assert admin_api.get("/v1/admin/contacts").status_code == 200

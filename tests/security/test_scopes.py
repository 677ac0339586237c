"""An `ingest` key never reaches the admin plane."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from hogsend_site.auth import HasAdminScope

pytestmark = pytest.mark.django_db


def admin_plane_routes() -> list[tuple[str, type]]:
    """Every mounted API view whose permissions require the admin scope."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                perms = getattr(view, "permission_classes", ()) or ()
                if any(isinstance(p, type) and issubclass(p, HasAdminScope) for p in perms):
                    found.append(("/" + prefix + str(pattern.pattern), view))

    walk(get_resolver().url_patterns, "")
    return found


def test_an_ingest_key_cannot_skip_the_preference_check(api, ada, mailoutbox):
    response = api.post("/v1/emails", {"to": ada.email, "template": "support/followup",
                                       "skipPreferenceCheck": True}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": "skipPreferenceCheck requires an admin key"}
    assert mailoutbox == []


def test_an_admin_key_may_skip_it(admin_api, unsubscribed, mailoutbox):
    response = admin_api.post("/v1/emails", {"to": unsubscribed.email,
                                             "template": "support/followup",
                                             "skipPreferenceCheck": True}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "sent"
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_admin_plane_route_refuses_an_ingest_key(api, method):
    for route, view in admin_plane_routes():
        if not hasattr(view, method):
            continue
        path = re.sub(r"<int:[^>]+>", "1", route)
        path = re.sub(r"<[^>]+>", "00000000-0000-0000-0000-000000000000", path)
        response = getattr(api, method)(path, {}, format="json")
        assert response.status_code == 403, (route, method, response.status_code)


def test_no_admin_path_answers_without_a_key(client):
    for path in ("/v1/admin/journeys", "/v1/admin/runs", "/v1/admin/contacts"):
        response = client.get(path)
        assert response.status_code in (401, 404), path
        assert response.json()["error"] in ("Unauthorized", "Not Found")

"""Publishable browser keys (`pk_...`): only from their origins, only on the opted-in
operations, with CORS for those origins and routes alone; secret keys never from a
foreign web page."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from contacts.models import Contact
from hogsend_site.auth import HasAdminScope, HasIngestScope, api_key_create, api_keys_revoke
from hogsend_site.browser_keys import origin_normalise
from hogsend_site.models import ApiKey
from tests.security.test_scopes import admin_plane_routes
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
EVENT = {"name": "page.viewed", "userId": "u_web"}


@pytest.fixture
def browser_key(db) -> str:
    return api_key_create(name="web", scopes=["ingest-public"], allowed_origins=[APP])[1]


def client_for(secret: str, origin: str | None = None) -> APIClient:
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    client.credentials(**headers)
    return client


def preflight(path: str, origin: str, method: str = "POST"):
    return APIClient().options(
        path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key")


def all_api_routes() -> list[tuple[str, type, dict]]:
    """Every mounted DRF view: its route, class and `as_view(...)` arguments."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if isinstance(view, type) and issubclass(view, APIView):
                    found.append(("/" + prefix + str(pattern.pattern), view,
                                  getattr(pattern.callback, "initkwargs", {})))

    walk(get_resolver().url_patterns, "")
    return found


# --- the publishable key on the routes it may use ---------------------------------------


def test_a_publishable_key_from_its_origin_posts_an_event_the_page_may_read(browser_key):
    response = client_for(browser_key, APP).post("/v1/events", EVENT, format="json")
    assert response.status_code == 202
    assert response.json()["stored"] is True
    assert UserEvent.objects.get().event == "page.viewed"
    assert response["Access-Control-Allow-Origin"] == APP
    assert "Access-Control-Allow-Credentials" not in response
    assert "origin" in response["Vary"].lower()


@pytest.mark.parametrize("method", ["put", "post"])
def test_a_publishable_key_from_its_origin_upserts_a_contact(browser_key, method):
    response = getattr(client_for(browser_key, APP), method)(
        "/v1/contacts", {"userId": "u_web", "email": "web@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json()["created"] is True
    assert Contact.objects.get().email == "web@example.com"
    assert response["Access-Control-Allow-Origin"] == APP


@pytest.mark.parametrize(("origin", "error"), [
    (EVIL, "Forbidden: origin not allowed for this publishable key"),
    ("https://app.example.com:8443", "Forbidden: origin not allowed for this publishable key"),
    ("http://app.example.com", "Forbidden: origin not allowed for this publishable key"),
    (None, "Forbidden: origin not allowed for this publishable key"),
])
def test_a_publishable_key_from_another_origin_or_none_is_403_and_stores_nothing(
        browser_key, origin, error):
    response = client_for(browser_key, origin).post("/v1/events", EVENT, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": error}
    assert "Access-Control-Allow-Origin" not in response
    upsert = client_for(browser_key, origin).put("/v1/contacts", {"userId": "u_web"},
                                                 format="json")
    assert upsert.status_code == 403
    assert not UserEvent.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/v1/emails", {"to": "ada@example.com", "template": "support/followup"}),
    ("post", "/v1/events/batch", {"events": [EVENT]}),
    ("get", "/v1/contacts/find?userId=u_ada", None),
    ("delete", "/v1/contacts", {"userId": "u_ada"}),
    ("get", "/v1/admin/contacts", None),
    ("post", "/v1/admin/api-keys", {"name": "x", "scopes": ["admin"]}),
])
def test_a_publishable_key_is_403_where_no_operation_opted_in(
        browser_key, ada, mailoutbox, method, path, body):
    client = client_for(browser_key, APP)
    response = getattr(client, method)(path, body, format="json") if body else getattr(
        client, method)(path)
    assert response.status_code == 403, (path, response.content)
    assert response.json() == {"error": "Forbidden: not allowed with a publishable key"}
    assert mailoutbox == [] and not UserEvent.objects.exists()
    assert Contact.objects.get().deleted_at is None
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_admin_plane_route_refuses_a_publishable_key(browser_key, method):
    client = client_for(browser_key, APP)
    for route, view in admin_plane_routes():
        if not hasattr(view, method):
            continue
        path = re.sub(r"<int:[^>]+>", "1", route)
        path = re.sub(r"<[^>]+>", "00000000-0000-0000-0000-000000000000", path)
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 403, (route, method, response.status_code)


@pytest.mark.parametrize("change", [
    {"revoked_at": timezone.now()},
    {"expires_at": timezone.now() - timedelta(seconds=1)},
])
def test_a_revoked_or_expired_publishable_key_is_refused(browser_key, change):
    ApiKey.objects.filter(prefix=browser_key[:12]).update(**change)
    response = client_for(browser_key, APP).post("/v1/events", EVENT, format="json")
    assert response.status_code == 401
    assert response.json()["error"] in ("Unauthorized", "API key expired")
    assert not UserEvent.objects.exists()


def test_a_pk_key_carrying_other_scopes_is_refused_all_the_same(browser_key):
    ApiKey.objects.filter(prefix=browser_key[:12]).update(scopes=["ingest-public", "admin"])
    client = client_for(browser_key, APP)
    assert client.post("/v1/events", EVENT, format="json").status_code == 403
    assert client.get("/v1/admin/contacts").status_code == 403
    assert not UserEvent.objects.exists()


class BrowserPingApi(APIView):
    publishable_methods = frozenset({"POST"})

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True})


class AdminBrowserPingApi(BrowserPingApi):
    permission_classes = [HasAdminScope]


def test_one_attribute_opts_an_operation_in_and_only_that_method(browser_key):
    def call(view: type[APIView], method: str) -> int:
        factory = getattr(APIRequestFactory(), method)
        request = factory("/v1/lists/x/subscribe", HTTP_AUTHORIZATION=f"Bearer {browser_key}",
                          HTTP_ORIGIN=APP)
        return view.as_view()(request).status_code

    assert call(BrowserPingApi, "post") == 200
    assert call(BrowserPingApi, "get") == 403
    # The admin scope never admits a publishable key, whatever the view says.
    assert call(AdminBrowserPingApi, "post") == 403


def test_every_opted_in_route_is_one_browsers_may_reach_by_cors():
    opted = {(route, method) for route, view, _ in all_api_routes()
             for method in getattr(view, "publishable_methods", ())}
    assert {("/v1/events", "POST"), ("/v1/contacts", "PUT"), ("/v1/contacts", "POST")} <= opted
    for route, method in opted:
        assert re.match(settings.CORS_URLS_REGEX, route), route
        assert method in settings.CORS_ALLOW_METHODS
    for path in ("/v1/lists", "/v1/lists/news/subscribe"):
        assert re.match(settings.CORS_URLS_REGEX, path)
    for path in ("/v1/events/batch", "/v1/emails", "/v1/contacts/find", "/v1/admin/contacts"):
        assert not re.match(settings.CORS_URLS_REGEX, path)


def test_every_authenticated_api_view_checks_keys_through_the_browser_rules():
    for route, view, initkwargs in all_api_routes():
        settings_of = {"authentication_classes": view.authentication_classes,
                       "permission_classes": view.permission_classes, **initkwargs}
        if settings_of["authentication_classes"] == []:  # the schema and docs pages
            assert route in ("/v1/schema/", "/v1/docs/"), route
            continue
        permissions = settings_of["permission_classes"]
        assert permissions, route
        assert all(issubclass(p, HasIngestScope) for p in permissions), route


# --- CORS -------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "method"), [("/v1/events", "POST"), ("/v1/contacts", "PUT"),
                                              ("/v1/contacts", "POST"), ("/v1/lists", "GET"),
                                              ("/v1/lists/beta/subscribe", "POST")])
def test_a_preflight_from_an_allowed_origin_is_answered(browser_key, path, method):
    response = preflight(path, APP, method)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert set(response["Access-Control-Allow-Methods"].split(", ")) == {
        "GET", "OPTIONS", "POST", "PUT"}
    assert set(response["Access-Control-Allow-Headers"].split(", ")) == {
        "authorization", "content-type", "idempotency-key"}
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_from_any_other_origin_gets_no_allow_origin(browser_key):
    for origin in (EVIL, "null", "https://app.example.com.evil.net"):
        response = preflight("/v1/events", origin)
        assert "Access-Control-Allow-Origin" not in response, origin


@pytest.mark.parametrize("path", ["/v1/emails", "/v1/events/batch", "/v1/contacts/find",
                                  "/v1/admin/contacts", "/v1/admin/api-keys"])
def test_no_cors_for_an_allowed_origin_on_other_routes(browser_key, path):
    assert "Access-Control-Allow-Origin" not in preflight(path, APP)
    response = client_for(browser_key, APP).post(path, {}, format="json")
    assert "Access-Control-Allow-Origin" not in response


def test_no_origin_is_allowed_without_a_usable_publishable_key(browser_key,
                                                               django_capture_on_commit_callbacks):
    assert preflight("/v1/events", APP)["Access-Control-Allow-Origin"] == APP
    key = ApiKey.objects.get(prefix=browser_key[:12])
    with django_capture_on_commit_callbacks(execute=True):
        api_keys_revoke(key_ids=[key.pk])
    assert "Access-Control-Allow-Origin" not in preflight("/v1/events", APP)


def test_an_expired_keys_origin_is_dropped_within_a_minute(browser_key, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    ApiKey.objects.filter(prefix=browser_key[:12]).update(
        expires_at=timezone.now() + timedelta(seconds=5))
    assert preflight("/v1/events", APP)["Access-Control-Allow-Origin"] == APP
    time_machine.shift(timedelta(seconds=10))
    # Cached: the key itself is refused at once, the CORS answer may lag.
    assert client_for(browser_key, APP).post("/v1/events", EVENT,
                                             format="json").status_code == 401
    time_machine.shift(timedelta(seconds=61))
    assert "Access-Control-Allow-Origin" not in preflight("/v1/events", APP)


# --- secret keys from browsers ---------------------------------------------------------


def test_a_secret_key_from_a_foreign_origin_is_403_and_stores_nothing(ingest_key, admin_key,
                                                                      browser_key):
    for origin in (EVIL, APP):
        response = client_for(ingest_key, origin).post("/v1/events", EVENT, format="json")
        assert response.status_code == 403
        assert response.json() == {
            "error": "Secret keys cannot be used from a browser; use a publishable key"}
    admin = client_for(admin_key, EVIL).get("/v1/admin/contacts")
    assert admin.status_code == 403
    assert not UserEvent.objects.exists()


def test_a_secret_key_from_the_servers_own_pages_or_no_browser_works(ingest_key, settings):
    settings.PUBLIC_BASE_URL = "https://hogsend.example.com"
    for origin in (None, "http://testserver", "https://hogsend.example.com"):
        response = client_for(ingest_key, origin).post(
            "/v1/events", {**EVENT, "idempotencyKey": f"k-{origin}"}, format="json")
        assert response.status_code == 202, origin
    assert UserEvent.objects.count() == 3


# --- creating publishable keys ------------------------------------------------------


def test_create_api_key_publishable_prints_a_working_pk_key_once():
    out = StringIO()
    call_command("create_api_key", "--name", "web", "--publishable", "--origin",
                 "https://App.Example.com:443/", "--origin", "http://localhost:3000",
                 stdout=out)
    lines = out.getvalue().strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("pk_")
    assert "Usable from: http://localhost:3000, https://app.example.com." in out.getvalue()
    key = ApiKey.objects.get(name="web")
    assert key.scopes == ["ingest-public"]
    assert key.allowed_origins == ["http://localhost:3000", "https://app.example.com"]
    assert client_for(secret, APP).post("/v1/events", EVENT, format="json").status_code == 202
    assert client_for(secret, "http://localhost:3000").put(
        "/v1/contacts", {"userId": "u1"}, format="json").status_code == 200


@pytest.mark.parametrize(("args", "error"), [
    (["--publishable", "--origin", "app.example.com"],
     "'app.example.com' is not an origin: give scheme and host, e.g. https://app.example.com"),
    (["--publishable", "--origin", "https://app.example.com/signup"],
     "an origin has no path, query or fragment"),
    (["--publishable", "--origin", "https://*.example.com"], "wildcards are not allowed"),
    (["--publishable", "--origin", "ftp://app.example.com"], "the scheme must be http or https"),
    (["--publishable"], "a publishable key needs at least one origin"),
    (["--publishable", "--scope", "ingest", "--origin", APP], "drop --scope"),
    (["--scope", "ingest", "--origin", APP], "--origin is only for --publishable keys"),
    ([], "give --scope ingest|admin, or --publishable with --origin"),
])
def test_create_api_key_refuses_bad_publishable_input_and_creates_nothing(args, error):
    with pytest.raises(CommandError, match=re.escape(error)):
        call_command("create_api_key", "--name", "web", *args, stdout=StringIO())
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(("value", "origin"), [
    ("https://App.Example.COM", "https://app.example.com"),
    ("https://app.example.com:443", "https://app.example.com"),
    ("http://app.example.com:80/", "http://app.example.com"),
    ("http://localhost:3000", "http://localhost:3000"),
    ("http://[::1]:8080", "http://[::1]:8080"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
])
def test_origins_are_stored_the_way_browsers_send_them(value, origin):
    assert origin_normalise(value) == origin


@pytest.mark.parametrize(("scopes", "origins", "error"), [
    (["ingest-public", "ingest"], [APP], "cannot be combined"),
    (["ingest-public", "admin"], [APP], "cannot be combined"),
    (["ingest"], [APP], "allowed origins are only for publishable keys"),
    (["ingest-public"], [], "needs at least one origin"),
    (["ingest-public"], ["null"], "'null' origin"),
    (["ingest-public"], ["https://user:pw@app.example.com"], "no user or password"),
])
def test_a_publishable_key_stands_alone_with_valid_origins(scopes, origins, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        api_key_create(name="x", scopes=scopes, allowed_origins=origins)
    assert not ApiKey.objects.exists()


def test_the_admin_api_creates_a_publishable_key(admin_api):
    response = admin_api.post("/v1/admin/api-keys", {
        "name": "web", "scopes": ["ingest-public"],
        "allowedOrigins": ["https://APP.example.com/", "http://localhost:3000"]}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("pk_") and body["scopes"] == ["ingest-public"]
    assert body["allowedOrigins"] == ["http://localhost:3000", APP]
    assert client_for(body["key"], APP).post("/v1/events", EVENT,
                                             format="json").status_code == 202
    listed = admin_api.get("/v1/admin/api-keys").json()["apiKeys"]
    assert {k["name"]: k["allowedOrigins"] for k in listed} == {
        "web": ["http://localhost:3000", APP], "admin": []}


@pytest.mark.parametrize(("body", "error"), [
    ({"name": "w", "scopes": ["ingest-public"]},
     "allowedOrigins: a publishable key needs at least one origin (e.g. https://app.example.com)"),
    ({"name": "w", "scopes": ["ingest-public"], "allowedOrigins": ["app.example.com"]},
     "allowedOrigins: 'app.example.com' is not an origin: give scheme and host, "
     "e.g. https://app.example.com"),
    ({"name": "w", "scopes": ["ingest-public", "ingest"], "allowedOrigins": [APP]},
     "scopes: ingest-public (a publishable key) cannot be combined with other scopes"),
    ({"name": "w", "scopes": ["ingest"], "allowedOrigins": [APP]},
     "allowedOrigins: allowed origins are only for publishable keys (scope ingest-public)"),
])
def test_the_admin_api_refuses_a_bad_publishable_key(admin_api, body, error):
    response = admin_api.post("/v1/admin/api-keys", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert ApiKey.objects.count() == 1


def test_the_django_admin_creates_a_publishable_key_and_shows_kind_and_origins(admin_client):
    response = admin_client.post(reverse("admin:hogsend_site_apikey_add"), {
        "name": "web", "scopes": ["ingest-public"],
        "allowed_origins": "https://app.example.com\nhttp://localhost:3000"}, follow=True)
    assert response.status_code == 200
    key = ApiKey.objects.get(name="web")
    messages = " ".join(str(m) for m in get_messages(response.wsgi_request))
    [secret] = re.findall(r"<code>(pk_[\w-]+)</code>", messages)
    assert key.allowed_origins == ["http://localhost:3000", APP]
    assert client_for(secret, APP).post("/v1/events", EVENT, format="json").status_code == 202
    listing = admin_client.get(reverse("admin:hogsend_site_apikey_changelist")).content.decode()
    assert "publishable (browser)" in listing and "http://localhost:3000, " + APP in listing


@pytest.mark.parametrize(("data", "error"), [
    ({"scopes": ["ingest-public"], "allowed_origins": "app.example.com"}, "is not an origin"),
    ({"scopes": ["ingest-public", "ingest"], "allowed_origins": APP}, "cannot be combined"),
])
def test_the_django_admin_refuses_bad_publishable_input(admin_client, data, error):
    response = admin_client.post(reverse("admin:hogsend_site_apikey_add"),
                                 {"name": "web", **data})
    assert response.status_code == 200  # the form again, with the error
    assert error in response.content.decode()
    assert not ApiKey.objects.filter(name="web").exists()


def test_a_key_cannot_change_kind_in_the_django_admin(admin_client, browser_key):
    key = ApiKey.objects.get(prefix=browser_key[:12])
    response = admin_client.post(reverse("admin:hogsend_site_apikey_change", args=[key.pk]),
                                 {"name": "web", "scopes": ["admin"], "allowed_origins": ""})
    assert response.status_code == 200
    assert "cannot change between secret and publishable" in response.content.decode()
    key.refresh_from_db()
    assert key.scopes == ["ingest-public"]

"""Rate limits: hosted-page POSTs per IP, POST /v1/emails per key, the admin plane per
key; 429 with Retry-After in whole seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import override_settings
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from contacts.tokens import token_make
from hogsend_site.auth import HasAdminScope, api_key_create
from hogsend_site.ratelimit import client_ip
from tests.tracking.conftest import answer_link
from tracking.forms import answer_form_token


@pytest.fixture(autouse=True)
def start_of_a_minute():
    """The limits count per fixed minute: start each test at :00 so its requests
    never straddle two windows (time still runs)."""
    with time_machine.travel(datetime(2026, 6, 17, 12, 0, 0, tzinfo=UTC), tick=True):
        yield

pytestmark = pytest.mark.django_db


class AdminEcho(APIView):
    permission_classes = [HasAdminScope]

    def get(self, request):
        return Response({"ok": True})


class IngestEcho(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("v1/admin/echo", AdminEcho.as_view()),
    path("v1/ingest-echo", IngestEcho.as_view()),
    path("", include("hogsend_site.urls")),
]


def hosted_posts(client, followup, ada):
    no = answer_link(followup, "no")
    unsubscribe = token_make(key=ada.key, email=ada.email)
    manage = token_make(key=ada.key, email=ada.email, action="manage")
    return {
        "comment": lambda **kw: client.post(f"/v1/t/a/{no.pk}", {
            "comment": "hi", "form_token": answer_form_token(no.pk)}, **kw),
        "unsubscribe": lambda **kw: client.post(f"/v1/email/unsubscribe?token={unsubscribe}",
                                                **kw),
        "preferences": lambda **kw: client.post(f"/v1/email/preferences?token={manage}",
                                                {"unsubscribed_all": ""}, **kw),
    }


@pytest.mark.parametrize("page", ["comment", "unsubscribe", "preferences"])
def test_hosted_page_posts_are_limited_to_30_a_minute_per_ip(client, followup, ada, page):
    post = hosted_posts(client, followup, ada)[page]
    statuses = [post(REMOTE_ADDR="198.51.100.1").status_code for _ in range(30)]
    assert 429 not in statuses
    limited = post(REMOTE_ADDR="198.51.100.1")
    assert limited.status_code == 429
    assert limited["Retry-After"].isdigit() and 1 <= int(limited["Retry-After"]) <= 60
    assert post(REMOTE_ADDR="198.51.100.2").status_code != 429  # another person


def test_a_client_cannot_dodge_the_per_ip_limit_with_x_forwarded_for(client, followup, ada):
    post = hosted_posts(client, followup, ada)["unsubscribe"]
    for n in range(30):
        post(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert post(REMOTE_ADDR="198.51.100.1",
                HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_behind_trusted_proxies_the_address_the_outer_proxy_saw_counts(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "203.0.113.5"  # the spoofed first entry is ignored
    settings.TRUSTED_PROXIES = ["10.0.0.1", "203.0.113.0/24"]
    assert client_ip(request) == "6.6.6.6"
    settings.TRUSTED_PROXIES = []
    assert client_ip(request) == "10.0.0.1"


def test_post_emails_is_limited_to_30_a_minute_per_key(api, ada, mailoutbox):
    body = {"to": ada.email, "template": "support/followup"}
    statuses = [api.post("/v1/emails", body, format="json").status_code for _ in range(30)]
    assert set(statuses) == {202}
    limited = api.post("/v1/emails", body, format="json")
    assert limited.status_code == 429
    assert limited.json() == {"error": "Rate limit exceeded"}
    assert limited["Retry-After"].isdigit()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='b', scopes=['ingest'])[1]}")
    assert other.post("/v1/emails", body, format="json").status_code == 202


@override_settings(ROOT_URLCONF=__name__)
def test_the_admin_plane_is_limited_to_100_a_minute_per_key(admin_api, api):
    statuses = [admin_api.get("/v1/admin/echo").status_code for _ in range(100)]
    assert set(statuses) == {200}
    limited = admin_api.get("/v1/admin/echo")
    assert limited.status_code == 429 and limited["Retry-After"].isdigit()
    assert api.get("/v1/admin/echo").status_code == 403  # an ingest key is refused first


@override_settings(ROOT_URLCONF=__name__)
def test_ingest_views_are_not_limited_by_the_admin_throttle(api):
    statuses = {api.get("/v1/ingest-echo").status_code for _ in range(120)}
    assert statuses == {200}


def test_event_ingest_is_not_limited_by_default(api):
    statuses = {api.post("/v1/events", {"name": "page.viewed", "userId": "u1"},
                         format="json").status_code for _ in range(120)}
    assert statuses == {202}

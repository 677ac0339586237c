"""Bearer API keys: lookup, scopes (admin implies ingest), revocation, expiry, the CLI."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from hogsend_site.auth import HasAdminScope, api_key_create
from hogsend_site.models import ApiKey

pytestmark = pytest.mark.django_db

EVENT = {"name": "signed_up", "userId": "u1"}


def post_event(secret: str | None = None, *, header: str | None = None):
    client = APIClient()
    if header or secret:
        client.credentials(HTTP_AUTHORIZATION=header or f"Bearer {secret}")
    return client.post("/v1/events", EVENT, format="json")


class AdminOnlyApi(APIView):
    permission_classes = [HasAdminScope]

    def get(self, request):
        return Response({"ok": True})


def call_admin_only(secret: str):
    request = APIRequestFactory().get("/v1/admin/ping", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return AdminOnlyApi.as_view()(request)


def test_an_ingest_key_ingests():
    _, secret = api_key_create(name="app", scopes=["ingest"])
    assert secret.startswith("hsk_")
    assert post_event(secret).status_code == 202


def test_an_admin_key_implies_ingest():
    _, secret = api_key_create(name="ops", scopes=["admin"])
    assert post_event(secret).status_code == 202


def test_an_admin_endpoint_refuses_an_ingest_key_with_403_and_admits_an_admin_key():
    _, ingest = api_key_create(name="app", scopes=["ingest"])
    _, admin = api_key_create(name="ops", scopes=["admin"])
    refused = call_admin_only(ingest)
    refused.render()
    assert refused.status_code == 403
    assert refused.data == {"error": "Forbidden: insufficient scope"}
    assert call_admin_only(admin).status_code == 200


def test_a_key_without_the_scope_is_403_on_the_data_plane():
    key, secret = api_key_create(name="app", scopes=["ingest"])
    ApiKey.objects.filter(pk=key.pk).update(scopes=[])
    response = post_event(secret)
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden: insufficient scope"}


@pytest.mark.parametrize(
    "header",
    [None, "Bearer hsk_unknown", "Bearer ", "Basic dXNlcjpwYXNz", "hsk_without_scheme"],
)
def test_a_missing_or_unknown_key_is_401_unauthorized(header):
    api_key_create(name="app", scopes=["ingest"])
    response = post_event(header=header)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_401():
    key, secret = api_key_create(name="app", scopes=["ingest"])
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    response = post_event(secret)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_an_expired_key_is_401_and_says_so():
    key, secret = api_key_create(name="app", scopes=["ingest"])
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post_event(secret)
    assert response.status_code == 401
    assert response.json() == {"error": "API key expired"}


def test_a_key_that_expires_later_still_works():
    key, secret = api_key_create(name="app", scopes=["ingest"])
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert post_event(secret).status_code == 202


def test_only_the_digest_and_a_display_prefix_are_stored():
    key, secret = api_key_create(name="app", scopes=["ingest", "ingest"])
    key.refresh_from_db()
    assert key.digest == ApiKey.digest_of(secret) and len(key.digest) == 64
    assert key.prefix == secret[:12]
    assert secret not in {key.name, key.prefix, key.digest}
    assert key.scopes == ["ingest"]


def test_last_used_at_is_written_at_most_every_five_minutes(time_machine):
    key, secret = api_key_create(name="app", scopes=["ingest"])
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    post_event(secret)
    key.refresh_from_db()
    assert key.last_used_at == start
    time_machine.shift(timedelta(minutes=4))
    post_event(secret)
    key.refresh_from_db()
    assert key.last_used_at == start
    time_machine.shift(timedelta(minutes=2))
    post_event(secret)
    key.refresh_from_db()
    assert key.last_used_at == start + timedelta(minutes=6)


@pytest.mark.parametrize("scopes", [[], ["superuser"], ["ingest", "read"]])
def test_keys_take_only_known_scopes(scopes):
    with pytest.raises(ValueError, match="scopes must be"):
        api_key_create(name="x", scopes=scopes)


@pytest.mark.parametrize("scope", ["ingest", "admin"])
def test_create_api_key_prints_a_working_secret_on_its_last_line(scope):
    out = StringIO()
    call_command("create_api_key", "--name", "ci", "--scope", scope, stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("hsk_")
    assert ApiKey.objects.get(name="ci").scopes == [scope]
    assert post_event(secret).status_code == 202


def test_create_api_key_refuses_an_unknown_scope():
    with pytest.raises(CommandError):
        call_command("create_api_key", "--name", "ci", "--scope", "root", stdout=StringIO())
    assert not ApiKey.objects.exists()

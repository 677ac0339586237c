"""Provider webhooks answer only to the configured basic-auth secret."""

from __future__ import annotations

import base64
import json

import pytest
from anymail import urls as anymail_urls

from tracking.models import ProviderEvent

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")]
SECRET = "hook:" + "s" * 24
PAYLOAD = {"RecordType": "Bounce", "ID": 1, "Type": "HardBounce", "TypeCode": 1,
           "MessageID": "m-1", "Email": "ada@example.com", "BouncedAt": "2026-06-17T16:33:54Z",
           "Description": "x", "Details": "x", "Metadata": {}, "Tag": "t"}
# Every provider anymail mounts, configured or not: none may answer 2xx or 5xx
# to a caller without the secret.
ESPS = [pattern.name.removesuffix("_tracking_webhook") for pattern in anymail_urls.urlpatterns
        if (pattern.name or "").endswith("_tracking_webhook")]


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def post(client, esp: str, auth: str | None):
    extra = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
    return client.post(f"/v1/webhooks/email/{esp}/tracking/", json.dumps(PAYLOAD),
                       content_type="application/json", **extra)


@pytest.mark.parametrize("esp", ESPS)
@pytest.mark.parametrize("auth", [None, "", basic("hook:wrong"), basic("other:" + "s" * 24),
                                  basic(SECRET + "x"), "Bearer " + SECRET, SECRET])
def test_a_webhook_without_the_secret_is_refused(client, settings, esp, auth):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    response = post(client, esp, auth)
    assert response.status_code in (400, 401, 403, 404)
    assert not ProviderEvent.objects.exists()


@pytest.mark.parametrize("esp", ESPS)
def test_without_a_configured_secret_every_webhook_is_refused(client, settings, esp):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    assert post(client, esp, basic(SECRET)).status_code == 403
    assert post(client, esp, None).status_code == 403


def test_the_right_secret_is_accepted(client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    assert post(client, "postmark", basic(SECRET)).status_code == 200
    assert ProviderEvent.objects.count() == 1

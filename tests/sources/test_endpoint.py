"""/v1/webhooks/<source>: which sources are served, limits, and a team's own source in one file."""

from __future__ import annotations

import io
import shlex

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command

from sources import Ignore, SourceEvent, define_source
from sources.auth import HmacSignature
from sources.definition import DefinitionError
from sources.registry import register, unregister
from sources.views import MAX_BODY
from tests.sources import vendors
from tests.sources.vendors import post, raw, stored

pytestmark = pytest.mark.django_db

TICKET = {"event": "ticket.resolved", "ticket": {"id": "9", "updated_at": "2026-06-16T14:40Z"},
          "requester": {"email": "ada@example.com"}}


def test_an_unknown_source_is_a_404(client):
    response = post(client, "nosuch", raw(TICKET), {})

    assert response.status_code == 404
    assert response.json() == {"error": "Unknown webhook source"}


def test_a_preset_without_its_secret_is_not_served(client, settings):
    settings.ZENDESK_WEBHOOK_SECRET = ""
    body = raw(TICKET)

    response = post(client, "zendesk", body, vendors.zendesk(body, secret=""))

    assert response.status_code == 404
    assert stored() == []


def test_enabled_sources_limits_what_is_served(client, settings):
    settings.ENABLED_SOURCES = "stripe, intercom"
    body = raw(TICKET)

    assert post(client, "zendesk", body, vendors.zendesk(body)).status_code == 404
    settings.ENABLED_SOURCES = "none"
    assert post(client, "zendesk", body, vendors.zendesk(body)).status_code == 404
    settings.ENABLED_SOURCES = "zendesk"
    assert post(client, "zendesk", body, vendors.zendesk(body)).status_code == 200


def test_only_post_is_accepted(client):
    response = client.get("/v1/webhooks/zendesk")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "error" in response.json()


def test_a_body_over_a_mebibyte_is_refused_unread(client):
    body = raw({**TICKET, "padding": "x" * MAX_BODY})

    response = post(client, "zendesk", body, vendors.zendesk(body))

    assert response.status_code == 413
    assert stored() == []


def test_the_email_provider_webhooks_keep_their_path(client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "u:p"}

    response = client.post("/v1/webhooks/email/postmark/tracking/", data=b"{}",
                           content_type="application/json")

    assert response.status_code != 404
    assert "Unknown webhook source" not in response.content.decode()


def test_a_source_id_must_be_url_safe_and_not_email():
    auth = HmacSignature(secret_env="X", header="X-Sig")
    for bad in ("email", "Zendesk", "has space", "", "a/b"):
        with pytest.raises(DefinitionError):
            define_source(id=bad, auth=auth, transform=lambda payload, request: None)
    with pytest.raises(DefinitionError):
        define_source(id="ok", auth="not an auth", transform=lambda payload, request: None)


@pytest.fixture
def linear_source(settings):
    """What a team writes in one file to take in its own tool's webhooks."""

    @define_source(id="linear", auth=HmacSignature(secret_env="LINEAR_WEBHOOK_SECRET",
                                                   header="Linear-Signature"))
    def linear(payload, request):
        if payload.get("action") != "create":
            return Ignore("only created issues")
        return SourceEvent(name="issue.created", email=payload["actor"]["email"],
                           properties={"issue_id": payload["data"]["id"]},
                           event_id=request.header("Linear-Delivery"))

    settings.LINEAR_WEBHOOK_SECRET = "linear-secret"
    register(linear)
    yield linear
    unregister("linear")


def test_a_source_defined_in_one_module_is_served_with_its_own_auth(client, linear_source):
    import hashlib
    import hmac

    body = raw({"action": "create", "actor": {"email": "ada@example.com"}, "data": {"id": "ENG-1"}})
    signature = hmac.new(b"linear-secret", body, hashlib.sha256).hexdigest()
    headers = {"Linear-Signature": signature, "Linear-Delivery": "d-1"}

    first, again = post(client, "linear", body, headers), post(client, "linear", body, headers)

    assert (first.status_code, again.status_code) == (200, 200)
    (event,) = stored()
    assert (event.event, event.source, event.idempotency_key) == (
        "issue.created", "webhook:linear", "src:linear:d-1")
    assert post(client, "linear", body, {"Linear-Signature": "0" * 64}).status_code == 401


def test_a_transform_tripping_over_an_unexpected_shape_is_a_400_not_a_500(client, linear_source):
    import hashlib
    import hmac

    body = raw({"action": "create", "actor": None})
    headers = {"Linear-Signature": hmac.new(b"linear-secret", body, hashlib.sha256).hexdigest()}

    response = post(client, "linear", body, headers)

    assert response.status_code == 400
    assert stored() == []


def test_the_system_check_names_unknown_and_unconfigured_sources(settings):
    settings.ENABLED_SOURCES = "zendesk,zendsk"
    settings.ZENDESK_WEBHOOK_SECRET = ""

    messages = {message.id: message.msg for message in run_checks()
                if message.id in ("hogsend.E401", "hogsend.W401")}

    assert "'zendsk'" in messages["hogsend.E401"]
    assert "ZENDESK_WEBHOOK_SECRET" in messages["hogsend.W401"]


def test_sign_webhook_prints_a_curl_command_the_server_accepts(client, tmp_path):
    payload = tmp_path / "solved.json"
    payload.write_bytes(raw(TICKET))
    out = io.StringIO()

    call_command("sign_webhook", "zendesk", str(payload), stdout=out)

    argv = shlex.split(out.getvalue())
    assert argv[:5] == ["curl", "-sS", "-X", "POST", "http://testserver/v1/webhooks/zendesk"]
    headers = dict(argv[i + 1].split(": ", 1) for i, arg in enumerate(argv) if arg == "-H")
    response = post(client, "zendesk", payload.read_bytes(), headers)
    assert response.status_code == 200, response.content
    assert [e.event for e in stored()] == ["ticket.resolved"]


def test_sign_webhook_explains_a_missing_secret(settings, tmp_path):
    settings.HELPSCOUT_WEBHOOK_SECRET = ""
    payload = tmp_path / "p.json"
    payload.write_text("{}")

    with pytest.raises(CommandError, match="HELPSCOUT_WEBHOOK_SECRET is not set"):
        call_command("sign_webhook", "helpscout", str(payload))

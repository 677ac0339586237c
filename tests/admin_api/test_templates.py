"""Templates on the admin plane: the catalogue, previews (which write nothing) and test
sends (which bypass preferences)."""

from __future__ import annotations

import base64
import json

import pytest

from tracking.models import EmailSend, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db

PREVIEW = "/v1/admin/templates/support/followup/preview"


def b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_the_catalogue_lists_every_template(admin_api):
    templates = {t["key"]: t for t in admin_api.get("/v1/admin/templates").json()["templates"]}
    assert templates["support/followup"] == {
        "key": "support/followup", "defaultSubject": "Did that fix it?", "category": "journey",
        "description": templates["support/followup"]["description"], "hasPreview": True}
    assert templates["transactional/support-alert"]["category"] == "transactional"


def test_a_preview_renders_both_bodies_and_writes_nothing(admin_api):
    response = admin_api.get(PREVIEW, {"props": b64({"ticketId": "T-42", "name": "Ada"})})
    assert response.status_code == 200
    body = response.json()
    assert (body["key"], body["subject"], body["category"]) == (
        "support/followup", "Did that fix it?", "journey")
    assert "T-42" in body["html"] and "Hi Ada" in body["text"]
    assert "Yes, all sorted" in body["html"]
    assert "data-hs-event" not in body["html"]  # rewritten exactly as at send
    assert not TrackedLink.objects.exists()
    assert not EmailSend.objects.exists() and not LinkClick.objects.exists()


def test_a_preview_can_answer_with_the_raw_html_or_text(admin_api):
    html = admin_api.get(PREVIEW, {"format": "html", "props": b64({"ticketId": "T-42"})})
    assert html["Content-Type"].startswith("text/html")
    assert b"T-42" in html.content and html.content.lstrip().lower().startswith(b"<!doctype")
    text = admin_api.get(PREVIEW, {"format": "text"})
    assert text["Content-Type"].startswith("text/plain")
    assert b"Is everything working again?" in text.content
    assert not TrackedLink.objects.exists()


def test_preview_props_may_be_padded_standard_base64(admin_api):
    props = base64.b64encode(json.dumps({"ticketId": "T-9?"}).encode()).decode()
    assert "T-9?" in admin_api.get(PREVIEW, {"props": props}).json()["text"]


@pytest.mark.parametrize("props", ["%%%", b64([1, 2]), b64("text"),
                                   base64.b64encode(b"{not json").decode()])
def test_bad_preview_props_are_a_400(admin_api, props):
    response = admin_api.get(PREVIEW, {"props": props})
    assert response.status_code == 400
    assert response.json() == {"error": "props must be a base64-encoded JSON object"}


def test_an_unknown_template_is_a_404(admin_api):
    for method, path in (("get", "/v1/admin/templates/no/such/preview"),
                         ("post", "/v1/admin/templates/no/such/send-test")):
        response = getattr(admin_api, method)(path, {"to": "a@example.com"}, format="json")
        assert response.status_code == 404
        assert response.json() == {"error": "Template not found"}


def test_a_test_send_bypasses_preferences(admin_api, unsubscribed, mailoutbox):
    response = admin_api.post("/v1/admin/templates/support/followup/send-test",
                              {"to": unsubscribed.email, "props": {"ticketId": "T-1"}},
                              format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "sent"
    send = EmailSend.objects.get(pk=response.json()["emailSendId"])
    assert send.idempotency_key.startswith("send-test:")
    assert len(mailoutbox) == 1 and "T-1" in mailoutbox[0].body


def test_two_test_sends_are_two_emails(admin_api, mailoutbox):
    for _ in range(2):
        admin_api.post("/v1/admin/templates/support/followup/send-test",
                       {"to": "me@example.com"}, format="json")
    assert len(mailoutbox) == 2


def test_a_test_send_needs_an_address(admin_api):
    response = admin_api.post("/v1/admin/templates/support/followup/send-test", {},
                              format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "to: This field is required."}

"""A provider's error text stays in the log: the API answers a bare 502.

A provider's exception can quote an API key, an account id or another
recipient; the caller of `POST /v1/emails` (an ingest key) must not read it.
"""

from __future__ import annotations

import logging

import pytest

from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

SECRET = "SG.live_9f8e7d6c5b4a-secret-api-key"


class LeakyBackend:
    """A provider that refuses the send, quoting its credentials in the error."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise RuntimeError(f"401 Unauthorized: API key {SECRET} is revoked")


@pytest.fixture
def leaky(settings):
    settings.EMAIL_BACKEND = f"{__name__}.LeakyBackend"


@pytest.mark.usefixtures("leaky")
def test_a_502_from_post_emails_says_only_email_provider_error(api, ada, caplog):
    caplog.set_level(logging.WARNING)
    response = api.post("/v1/emails", {"to": "ada@example.com",
                                       "template": "feedback/referral-ask"}, format="json")
    assert response.status_code == 502
    assert response.json() == {"error": "Email provider error"}
    assert SECRET not in response.content.decode()
    send = EmailSend.objects.get()
    assert send.status == "failed"
    # The operator still learns what happened, and for which send.
    logged = [r for r in caplog.records if SECRET in r.getMessage()]
    assert any(str(send.pk) in r.getMessage() and r.levelno >= logging.WARNING for r in logged)
    assert any(r.levelno == logging.ERROR for r in logged)


@pytest.mark.usefixtures("leaky")
def test_the_admin_template_test_send_502_hides_the_provider_text_too(admin_api, db):
    response = admin_api.post("/v1/admin/templates/feedback/referral-ask/send-test",
                              {"to": "me@example.com"}, format="json")
    assert response.status_code == 502
    assert response.json() == {"error": "Email provider error"}

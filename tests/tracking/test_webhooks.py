"""Postmark's tracking webhook payloads (from its docs) posted through anymail's view."""

from __future__ import annotations

import base64
import json

import pytest

from contacts.models import EmailPreference, PreferenceChange
from tracking.mailer import email_send
from tracking.models import EmailSend, ProviderEvent

URL = "/v1/webhooks/email/postmark/tracking/"
AUTH = "Basic " + base64.b64encode(b"hook:s3cret").decode()


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:s3cret"}


def bounce(event_id: int, *, kind: str = "HardBounce", email: str = "ada@example.com",
           message_id: str = "883953f4-6105-42a2-a16a-77a8eac79483") -> dict:
    return {
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": event_id, "Type": kind,
        "TypeCode": 1, "Name": "Hard bounce", "Tag": "support/followup",
        "MessageID": message_id, "Metadata": {}, "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, "
                       "mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email, "From": "hello@example.com", "BouncedAt": "2026-06-17T16:33:54.9070259Z",
        "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Did that fix it?",
    }


def complaint(event_id: int, email: str = "ada@example.com") -> dict:
    return {**bounce(event_id, email=email), "RecordType": "SpamComplaint",
            "Type": "SpamComplaint", "TypeCode": 512, "Name": "Spam complaint"}


def post(client, payload: dict, auth: str | None = AUTH):
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(URL, json.dumps(payload), content_type="application/json", **extra)


def pref() -> EmailPreference:
    return EmailPreference.objects.get(email="ada@example.com")


def test_the_webhook_needs_the_basic_auth_secret(client, db):
    assert post(client, bounce(1), auth=None).status_code == 400
    assert post(client, bounce(1), auth="Basic " + base64.b64encode(b"x:y").decode()
                ).status_code == 400
    assert not ProviderEvent.objects.exists()


def test_without_a_configured_secret_the_webhook_refuses_everything(client, db, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    assert post(client, bounce(1)).status_code == 403


def test_three_permanent_bounces_suppress_the_address(client, ada):
    # Three messages: one message bounces once per recipient, however often reported.
    for event_id in (1, 2):
        assert post(client, bounce(event_id, message_id=f"m-{event_id}")).status_code == 200
    assert (pref().bounce_count, pref().suppressed) == (2, False)
    post(client, bounce(3, message_id="m-3"))
    row = pref()
    assert (row.bounce_count, row.suppressed) == (3, True)
    assert row.last_bounce_at is not None and row.contact_id == ada.pk
    change = PreferenceChange.objects.get()
    assert change.source == "bounce" and change.changes == {"suppressed": [False, True]}
    assert email_send(to=ada.email, template="support/followup").status == "suppressed"


def test_a_redelivered_bounce_is_not_counted_twice(client, ada):
    for _ in range(3):
        assert post(client, bounce(7)).status_code == 200
    assert pref().bounce_count == 1 and ProviderEvent.objects.count() == 1


def test_soft_bounces_never_suppress(client, ada):
    for event_id in range(1, 5):
        post(client, bounce(event_id, kind="SoftBounce"))
    assert not EmailPreference.objects.exists()
    assert set(ProviderEvent.objects.values_list("bounce_class", flat=True)) == {"transient"}


def test_a_complaint_suppresses_at_once(client, ada):
    assert post(client, complaint(9)).status_code == 200
    assert pref().suppressed is True
    assert PreferenceChange.objects.get().source == "complaint"


def test_bounces_and_deliveries_update_the_send_by_message_id(client, ada, settings, mailoutbox):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    result = email_send(to=ada.email, template="support/followup", contact=ada)
    send = EmailSend.objects.get(pk=result.email_send_id)
    assert send.message_id == "0"  # read from anymail_status
    post(client, {"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound",
                  "MessageID": "0", "Recipient": "ada@example.com", "Tag": "support/followup",
                  "DeliveredAt": "2026-06-17T16:33:54Z", "Details": "ok", "Metadata": {}})
    send.refresh_from_db()
    assert send.status == "delivered" and send.delivered_at is not None
    post(client, bounce(11, message_id="0"))
    send.refresh_from_db()
    assert send.status == "bounced" and send.bounced_at is not None
    assert ProviderEvent.objects.filter(email_send=send).count() == 2


def test_a_complaint_marks_the_send_complained(client, ada, settings, mailoutbox):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    send_id = email_send(to=ada.email, template="support/followup", contact=ada).email_send_id
    post(client, {**complaint(12), "MessageID": "0"})
    send = EmailSend.objects.get(pk=send_id)
    assert send.status == "complained" and send.complained_at is not None


def test_a_bounce_for_an_unknown_address_is_stored_by_address(client, db):
    post(client, {**complaint(13, email="Stranger@Example.com")})
    row = EmailPreference.objects.get()
    assert (row.email, row.user_key, row.suppressed) == ("stranger@example.com",
                                                         "stranger@example.com", True)


def test_an_event_with_more_than_100_recipients_is_skipped(ada):
    from anymail.signals import AnymailTrackingEvent, EventType

    from tracking.bounces import provider_event_record

    event = AnymailTrackingEvent(
        event_type=EventType.BOUNCED, event_id="ses-1", recipient="ada@example.com",
        message_id="m1", esp_event={"bounce": {"bounceType": "Permanent",
                                              "bouncedRecipients": [{}] * 101}})
    row = provider_event_record(event=event, esp_name="Amazon SES")
    assert row.outcome == "skipped:too_many_recipients"
    assert not EmailPreference.objects.exists()


def test_bad_data_never_fails_the_webhook(client, db, caplog):
    response = post(client, {"RecordType": "Bounce", "Type": "HardBounce", "ID": 5,
                             "Email": "", "BouncedAt": "2026-06-17T16:33:54Z"})
    assert response.status_code == 200
    assert ProviderEvent.objects.get().outcome == "skipped:no_recipient"

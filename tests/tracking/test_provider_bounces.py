"""Bounces counted as each provider meant them, posted the way each provider posts.

The payloads follow the shapes django-anymail records from the providers (its
tests) and the providers' docs, signed or authenticated as each provider does,
through the webhook routes this project mounts. A transient bounce is recorded
and never suppresses, even three in a row; three permanent ones do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings as django_settings
from svix.webhooks import Webhook

from contacts.models import EmailPreference, PreferenceChange
from tracking.models import ProviderEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

SECRET = "hook:" + "p" * 24
MAILGUN_SIGNING_KEY = "mailgun-signing-" + "k" * 16
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
# SendGrid shows its "verification key" as the base64 DER public key.
SENDGRID_VERIFICATION_KEY = base64.b64encode(SENDGRID_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
RESEND_SIGNING_SECRET = "whsec_" + base64.b64encode(b"resend-webhook-signing-secret!!!").decode()
ADA = "ada@example.com"
_ids = itertools.count(901542550)


@pytest.fixture(autouse=True)
def provider_settings(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET,
                        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
                        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": SENDGRID_VERIFICATION_KEY,
                        "RESEND_SIGNING_SECRET": RESEND_SIGNING_SECRET}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def webhook(esp: str, body: str, content_type: str = "application/json",
            **headers: str) -> dict[str, Any]:
    """One post as the provider makes it, with the basic-auth secret in its URL."""
    return {"path": f"/v1/webhooks/email/{esp}/tracking/", "body": body,
            "content_type": content_type,
            "headers": {"Authorization": "Basic " + b64(SECRET.encode()), **headers}}


def send(client, request: dict[str, Any]):
    return client.post(request["path"], data=request["body"].encode(),
                       content_type=request["content_type"], headers=request["headers"])


def post_all(client, *requests: dict[str, Any]) -> None:
    for request in requests:
        response = send(client, request)
        assert response.status_code == 200, (request["path"], response.content)


def bounce_count() -> int:
    pref = EmailPreference.objects.filter(email=ADA).first()
    return pref.bounce_count if pref else 0


def suppressed() -> bool:
    return EmailPreference.objects.filter(email=ADA, suppressed=True).exists()


# --- Postmark: basic auth; one JSON record per post ----------------------------------

POSTMARK_TYPES = {
    "HardBounce": (1, "Hard bounce"), "Transient": (2, "Message delayed"),
    "AutoResponder": (64, "Auto responder"), "AddressChange": (128, "Address change"),
    "DnsError": (256, "DNS error"), "SpamNotification": (512, "Spam notification"),
    "OpenRelayTest": (1024, "Open relay test"), "SoftBounce": (4096, "Soft bounce"),
    "VirusNotification": (8192, "Virus notification"),
    "ChallengeVerification": (16384, "Spam challenge verification"),
}


def postmark_bounce(message_id: str, kind: str = "HardBounce") -> dict[str, Any]:
    code, name = POSTMARK_TYPES[kind]
    return webhook("postmark", json.dumps({
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": next(_ids), "Type": kind,
        "TypeCode": code, "Name": name, "Tag": "welcome", "MessageID": message_id,
        "Metadata": {}, "ServerID": 23, "Description": f"{name} reported by the receiving server.",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": ADA, "From": "hello@example.com", "BouncedAt": "2026-06-17T16:33:54.9070259Z",
        "DumpAvailable": True, "Inactive": kind == "HardBounce", "CanActivate": True,
        "Subject": "Welcome"}))


def postmark_spam_complaint(message_id: str) -> dict[str, Any]:
    return webhook("postmark", json.dumps({
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": next(_ids),
        "Type": "SpamComplaint", "TypeCode": 100001, "Name": "Spam complaint", "Tag": "welcome",
        "MessageID": message_id, "Metadata": {}, "ServerID": 23, "Description": "",
        "Details": "Test spam complaint details", "Email": ADA, "From": "hello@example.com",
        "BouncedAt": "2026-06-17T16:33:54.9070259Z", "DumpAvailable": True, "Inactive": True,
        "CanActivate": False, "Subject": "Welcome"}))


def postmark_subscription_change(message_id: str, reason: str = "HardBounce") -> dict[str, Any]:
    return webhook("postmark", json.dumps({
        "RecordType": "SubscriptionChange", "MessageID": message_id, "ServerID": 23,
        "MessageStream": "outbound", "ChangedAt": "2026-06-17T16:33:55Z", "Recipient": ADA,
        "Origin": "Recipient", "SuppressSending": True, "SuppressionReason": reason,
        "Tag": "welcome", "Metadata": {}}))


@pytest.mark.parametrize("kind", sorted(set(POSTMARK_TYPES) - {"HardBounce"}))
def test_postmark_bounces_other_than_hard_never_suppress_even_three_in_a_row(client, ada, kind):
    post_all(client, *(postmark_bounce(f"pm-{kind}-{n}", kind) for n in range(3)))
    assert not suppressed() and bounce_count() == 0
    assert not ProviderEvent.objects.exclude(bounce_class="transient").exists()
    # SpamNotification is a Bounce record to Postmark, not the person's complaint.
    assert not ProviderEvent.objects.filter(event_type="complained").exists()


def test_three_postmark_hard_bounces_suppress_the_address(client, ada):
    post_all(client, *(postmark_bounce(f"pm-hard-{n}") for n in range(2)))
    assert (bounce_count(), suppressed()) == (2, False)
    post_all(client, postmark_bounce("pm-hard-2"))
    assert (bounce_count(), suppressed()) == (3, True)


@pytest.mark.parametrize("bounce_first", [True, False], ids=["bounce-first", "change-first"])
def test_a_postmark_hard_bounce_posted_by_both_webhooks_counts_once(client, ada, bounce_first):
    for n in range(3):
        pair = [postmark_bounce(f"pm-pair-{n}"), postmark_subscription_change(f"pm-pair-{n}")]
        post_all(client, *(pair if bounce_first else pair[::-1]))
        assert bounce_count() == n + 1
    assert suppressed()
    assert ProviderEvent.objects.filter(esp_name="Postmark").count() == 3


def test_a_postmark_complaint_posted_by_both_webhooks_is_stored_once(client, ada):
    post_all(client, postmark_spam_complaint("pm-spam"),
             postmark_subscription_change("pm-spam", reason="SpamComplaint"))
    assert suppressed()
    assert ProviderEvent.objects.get().bounce_class == "complaint"
    assert PreferenceChange.objects.filter(source="complaint").count() == 1


def test_the_migration_keeps_the_first_of_a_bounce_stored_twice(transactional_db):
    """Rows stored twice before the constraint: the later ones are marked, not lost."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    migration = ("tracking", "0007_provider_event_counted_once")
    before = [dep for dep in MigrationExecutor(connection).loader.get_migration(
        *migration).dependencies if dep[0] == "tracking"]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps.get_model("tracking", "ProviderEvent")
        common = {"esp_name": "Postmark", "event_type": "bounced", "message_id": "m-1",
                  "recipient": ADA, "outcome": "applied"}
        first = old.objects.create(dedupe_key="Postmark:901:ada", bounce_class="permanent",
                                   **common)
        twice = old.objects.create(dedupe_key="Postmark:m-1:bounced:ada",
                                   bounce_class="permanent", **common)
        soft = old.objects.create(dedupe_key="Postmark:902:ada", bounce_class="transient",
                                  **common)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    outcomes = dict(ProviderEvent.objects.values_list("pk", "outcome"))
    assert outcomes == {first.pk: "applied", twice.pk: "skipped:duplicate", soft.pk: "applied"}


# --- Brevo: basic auth; no event id (deduplicated by message id + type) ------------


def brevo(event: str, message_id: str, reason: str) -> dict[str, Any]:
    return webhook("brevo", json.dumps({
        "event": event, "email": ADA, "id": 1234567, "date": "2026-06-17 18:33:54",
        "ts": 1781713234, "message-id": f"<{message_id}@smtp-relay.mailin.fr>",
        "ts_event": 1781713234, "subject": "Welcome", "tag": "welcome",
        "sending_ip": "185.41.28.109", "ts_epoch": 1781713234123, "reason": reason}))


def test_three_brevo_soft_bounces_never_suppress(client, ada):
    post_all(client, *(brevo("soft_bounce", f"brevo-soft-{n}",
                             "452 4.2.2 The email account that you tried to reach is over quota")
                       for n in range(3)))
    post_all(client, *(brevo("deferred", f"brevo-deferred-{n}", "421 Try again later")
                       for n in range(3)))
    assert not suppressed() and bounce_count() == 0
    assert list(ProviderEvent.objects.values_list("bounce_class", flat=True).distinct()) == [
        "transient"]


def test_three_brevo_hard_bounces_suppress_the_address(client, ada):
    post_all(client, *(brevo("hard_bounce", f"brevo-hard-{n}",
                             " RecipientError: 550 5.5.0 Requested action not taken: "
                             "mailbox unavailable.") for n in range(3)))
    assert (bounce_count(), suppressed()) == (3, True)


# --- SendGrid: basic auth and its ECDSA signature; a JSON list per post ------------


def sendgrid(*events: dict[str, Any], key: ec.EllipticCurvePrivateKey = SENDGRID_KEY
             ) -> dict[str, Any]:
    body = json.dumps(list(events))
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body.encode(), ec.ECDSA(hashes.SHA256()))
    return webhook("sendgrid", body, **{
        "X-Twilio-Email-Event-Webhook-Signature": b64(signature),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp})


def sendgrid_event(event: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {"email": ADA, "timestamp": 1781713234, "anymail_id": message_id,
            "smtp-id": f"<{message_id}@ismtpd0006p1sjc2.sendgrid.net>",
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": f"{message_id}.filter0077p1las1.21536.5717FC482.0",
            "event": event, **fields}


def sendgrid_bounce(message_id: str, kind: str) -> dict[str, Any]:
    reason = {"bounce": "550 5.1.1 The email account that you tried to reach does not exist.",
              "blocked": "550 5.7.1 Service unavailable; client host blocked using Spamhaus"}
    return sendgrid_event("bounce", message_id, type=kind, reason=reason[kind],
                          status="5.1.1" if kind == "bounce" else "5.7.1",
                          ip="167.89.17.173", tls=1)


def test_sendgrid_blocks_and_deferrals_never_suppress(client, ada):
    post_all(client, sendgrid(*(sendgrid_bounce(f"sg-blocked-{n}", "blocked") for n in range(3))),
             sendgrid(*(sendgrid_event("deferred", f"sg-deferred-{n}", attempt="1",
                                       response="450 mailbox busy, try again later")
                        for n in range(3))))
    assert not suppressed() and bounce_count() == 0
    assert ProviderEvent.objects.filter(bounce_class="transient").count() == 6


def test_three_sendgrid_bounces_suppress_the_address(client, ada):
    post_all(client, sendgrid(*(sendgrid_bounce(f"sg-bounce-{n}", "bounce") for n in range(3))))
    assert (bounce_count(), suppressed()) == (3, True)


def test_a_sendgrid_post_signed_with_another_key_is_refused(client, ada):
    forged = sendgrid(sendgrid_bounce("sg-forged", "bounce"),
                      key=ec.generate_private_key(ec.SECP256R1()))
    assert send(client, forged).status_code == 400
    assert not ProviderEvent.objects.exists()


# --- Mailgun: its HMAC signature block inside the JSON body -----------------------


def mailgun(event_data: dict[str, Any], key: str = MAILGUN_SIGNING_KEY) -> dict[str, Any]:
    token, timestamp = secrets.token_hex(25), str(int(time.time()))
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return webhook("mailgun", json.dumps({
        "signature": {"token": token, "timestamp": timestamp,
                      "signature": signature.hexdigest()},
        "event-data": event_data}))


def mailgun_failed(message_id: str, severity: str) -> dict[str, Any]:
    permanent = severity == "permanent"
    status = ({"code": 550, "message": "5.1.1 The email account that you tried to reach does "
               "not exist.", "description": "", "attempt-no": 1}
              if permanent else
              {"code": 452, "message": "4.2.2 The email account that you tried to reach is "
               "over quota.", "description": "", "attempt-no": 2, "retry-seconds": 1800})
    return mailgun({
        "event": "failed", "severity": severity, "reason": "bounce" if permanent else "generic",
        "id": secrets.token_urlsafe(16), "timestamp": time.time(), "recipient": ADA,
        "recipient-domain": "example.com", "log-level": "error" if permanent else "warn",
        "message": {"headers": {"to": ADA, "message-id": f"{message_id}@mg.example.com",
                                "from": "hello@mg.example.com", "subject": "Welcome"}},
        "delivery-status": status, "tags": [], "user-variables": {}})


def test_mailgun_temporary_failures_never_suppress(client, ada):
    post_all(client, *(mailgun_failed(f"mg-temp-{n}", "temporary") for n in range(3)))
    assert not suppressed() and bounce_count() == 0
    assert ProviderEvent.objects.filter(bounce_class="transient").count() == 3


def test_three_mailgun_permanent_failures_suppress_the_address(client, ada):
    post_all(client, *(mailgun_failed(f"mg-perm-{n}", "permanent") for n in range(3)))
    assert (bounce_count(), suppressed()) == (3, True)


def test_a_mailgun_post_signed_with_another_key_is_refused(client, ada):
    forged = mailgun({"event": "failed", "severity": "permanent", "recipient": ADA,
                      "timestamp": time.time()}, key="not-the-signing-key")
    assert send(client, forged).status_code == 400
    assert not ProviderEvent.objects.exists()


# --- Amazon SES: SNS posts (text/plain JSON), basic auth ----------------------------

SNS_TOPIC = "arn:aws:sns:us-west-2:123456789012:ses-events"


def sns(body: dict[str, Any]) -> dict[str, Any]:
    body = {"MessageId": secrets.token_hex(16), "TopicArn": SNS_TOPIC,
            "Timestamp": "2026-06-17T16:33:55.675Z", "SignatureVersion": "1",
            "Signature": "EXAMPLE-SIGNATURE==",
            "SigningCertURL": "https://sns.us-west-2.amazonaws.com/"
                              "SimpleNotificationService-12345abcde.pem", **body}
    return webhook("amazon_ses", json.dumps(body), content_type="text/plain; charset=UTF-8",
                   **{"x-amz-sns-message-id": body["MessageId"],
                      "x-amz-sns-message-type": body["Type"]})


def ses_bounce(message_id: str, bounce_type: str, sub_type: str) -> dict[str, Any]:
    event = {
        "eventType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bounceSubType": sub_type,
                   "bouncedRecipients": [{"emailAddress": ADA, "action": "failed",
                                          "status": "5.1.1" if bounce_type == "Permanent"
                                          else "4.2.2",
                                          "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                   "timestamp": "2026-06-17T16:33:54.101Z",
                   "feedbackId": f"0100018{message_id}-feedback-000000",
                   "reportingMTA": "dns; email.example.com", "remoteMtaIp": "127.0.2.0"},
        "mail": {"timestamp": "2026-06-17T16:33:50.237Z", "source": "hello@example.com",
                 "sourceArn": "arn:aws:ses:us-west-2:123456789012:identity/example.com",
                 "sendingAccountId": "123456789012", "messageId": message_id,
                 "destination": [ADA], "headersTruncated": False,
                 "headers": [{"name": "From", "value": "hello@example.com"},
                             {"name": "To", "value": ADA},
                             {"name": "Subject", "value": "Welcome"}],
                 "commonHeaders": {"from": ["hello@example.com"], "to": [ADA],
                                   "subject": "Welcome"}},
    }
    return sns({"Type": "Notification", "Subject": "Amazon SES Email Event Notification",
                "Message": json.dumps(event),
                "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"})


def test_ses_transient_bounces_never_suppress(client, ada):
    post_all(client, *(ses_bounce(f"ses-transient-{n}", "Transient", "MailboxFull")
                       for n in range(3)))
    post_all(client, ses_bounce("ses-undetermined", "Undetermined", "Undetermined"))
    assert not suppressed() and bounce_count() == 0
    assert ProviderEvent.objects.filter(bounce_class="transient").count() == 4


def test_three_ses_permanent_bounces_suppress_the_address(client, ada):
    post_all(client, *(ses_bounce(f"ses-perm-{n}", "Permanent", "General") for n in range(3)))
    assert (bounce_count(), suppressed()) == (3, True)


def test_ses_confirms_the_sns_subscription_through_boto3(client, db):
    confirmation = sns({"Type": "SubscriptionConfirmation", "Token": "EXAMPLE_TOKEN",
                        "Message": "You have chosen to subscribe to the topic ...",
                        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/"
                                        "?Action=ConfirmSubscription&Token=EXAMPLE_TOKEN"})
    with mock.patch("anymail.webhooks.amazon_ses.boto3") as boto3:
        assert send(client, confirmation).status_code == 200
    sns_client = boto3.session.Session.return_value.client
    assert sns_client.call_args.args == ("sns",)
    assert sns_client.call_args.kwargs["region_name"] == "us-west-2"
    sns_client.return_value.confirm_subscription.assert_called_once_with(
        TopicArn=SNS_TOPIC, Token="EXAMPLE_TOKEN", AuthenticateOnUnsubscribe="true")


def test_ses_asks_sns_for_the_basic_auth_it_withheld(client, db):
    # SNS sends the URL's credentials only after a 401 that asks for them.
    request = ses_bounce("ses-no-auth", "Permanent", "General")
    del request["headers"]["Authorization"]
    response = send(client, request)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    assert not ProviderEvent.objects.exists()


# --- Resend: basic auth and its Svix signature --------------------------------------


def resend(event_type: str, message_id: str, secret: str = RESEND_SIGNING_SECRET,
           **data: Any) -> dict[str, Any]:
    now = datetime.now(tz=UTC)
    body = json.dumps({"type": event_type, "created_at": now.isoformat(), "data": {
        "created_at": now.isoformat(), "email_id": message_id,
        "from": "Hogsend <hello@example.com>", "to": [ADA], "subject": "Welcome", **data}})
    svix_id = "msg_" + secrets.token_hex(12)
    return webhook("resend", body, **{"svix-id": svix_id,
                                      "svix-timestamp": str(int(now.timestamp())),
                                      "svix-signature": Webhook(secret).sign(svix_id, now, body)})


def test_resend_delays_and_transient_bounces_never_suppress(client, ada):
    post_all(client, *(resend("email.delivery_delayed", f"re-delayed-{n}") for n in range(3)))
    post_all(client, *(resend("email.bounced", f"re-transient-{n}", bounce={
        "message": "The recipient's inbox is full.", "subType": "MailboxFull",
        "type": "Transient"}) for n in range(3)))
    assert not suppressed() and bounce_count() == 0
    assert ProviderEvent.objects.filter(bounce_class="transient").count() == 6


def test_three_resend_bounces_suppress_the_address(client, ada):
    post_all(client, resend("email.bounced", "re-hard-0", bounce={
        "message": "The recipient's email provider sent a hard bounce message, but didn't "
                   "specify the reason for the hard bounce."}))
    post_all(client, *(resend("email.bounced", f"re-hard-{n}", bounce={
        "message": "The recipient's email address does not exist.", "subType": "General",
        "type": "Permanent"}) for n in (1, 2)))
    assert (bounce_count(), suppressed()) == (3, True)


def test_a_resend_post_signed_with_another_secret_is_refused(client, ada):
    forged = resend("email.bounced", "re-forged", bounce={"message": "x", "type": "Permanent"},
                    secret="whsec_" + b64(b"another-secret-of-thirty-two-byt"))
    assert send(client, forged).status_code == 400
    assert not ProviderEvent.objects.exists()


# --- Settings from the environment alone ---------------------------------------------

_POST_FROM_ENV = """
import json, sys
import django
django.setup()
from django.test import Client
client = Client()
statuses = {}
for name, request in json.load(sys.stdin).items():
    response = client.post(request["path"], data=request["body"].encode(),
                           content_type=request["content_type"], headers=request["headers"])
    statuses[name] = response.status_code
print(json.dumps(statuses))
"""


def test_every_providers_webhook_works_from_environment_settings_alone(tmp_path: Path):
    """The production settings module, configured only by environment variables,
    in a fresh process: each provider's signed open event is accepted, and a
    forged signature refused (so the env's keys are the ones in force)."""
    now = datetime.now(tz=UTC).isoformat()
    opened = {
        "postmark": webhook("postmark", json.dumps({
            "RecordType": "Open", "FirstOpen": True, "MessageID": "env-1", "Recipient": ADA,
            "ReceivedAt": "2026-06-17T16:40:00Z", "Platform": "Desktop", "ReadSeconds": 5})),
        "brevo": brevo("unique_opened", "env-2", ""),
        "sendgrid": sendgrid(sendgrid_event("open", "env-3", useragent="Mozilla/5.0")),
        "mailgun": mailgun({"event": "opened", "timestamp": time.time(), "recipient": ADA,
                            "id": "env-4", "message": {"headers": {"message-id": "env-4@mg"}}}),
        "amazon_ses": sns({"Type": "Notification", "Message": json.dumps({
            "eventType": "Open", "mail": {"messageId": "env-5", "destination": [ADA]},
            "open": {"timestamp": now, "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1"}})}),
        "resend": resend("email.opened", "env-6"),
    }
    forged = {
        "sendgrid-forged": sendgrid(sendgrid_event("open", "env-7"),
                                    key=ec.generate_private_key(ec.SECP256R1())),
        "mailgun-forged": mailgun({"event": "opened", "timestamp": time.time()}, key="wrong"),
        "resend-forged": resend("email.opened", "env-8", secret="whsec_" + b64(b"w" * 32)),
    }
    managed = ("ANYMAIL_WEBHOOK_SECRET", "MAILGUN_API_KEY", "MAILGUN_WEBHOOK_SIGNING_KEY",
               "SENDGRID_API_KEY", "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
               "BREVO_API_KEY", "RESEND_SIGNING_SECRET", "RESEND_API_KEY", "POSTMARK_SERVER_TOKEN")
    env = {name: value for name, value in os.environ.items() if name not in managed}
    env.update({
        "DJANGO_SETTINGS_MODULE": "hogsend_site.settings", "DEBUG": "false",
        "SECRET_KEY": "env-only-" + "s" * 50, "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "REDIS_URL": "",
        "ANYMAIL_WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": SENDGRID_VERIFICATION_KEY,
        "RESEND_SIGNING_SECRET": RESEND_SIGNING_SECRET,
        "PYTHONWARNINGS": "ignore",
    })
    result = subprocess.run([sys.executable, "-c", _POST_FROM_ENV],
                            input=json.dumps({**opened, **forged}), env=env,
                            cwd=django_settings.BASE_DIR, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    assert statuses == {**dict.fromkeys(opened, 200), **dict.fromkeys(forged, 400)}, (
        result.stderr[-3000:])

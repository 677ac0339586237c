"""Contact erasure, checked the way that cannot be fooled: after it, the person's
address, keys, property values and comments appear in no column of any table.

The fixture gives Ada (tests/ops/test_erasure.py's `person`) everything that
ever held her data: webhook deliveries of every shape, operator alerts and the
page emailed for them, a stranded-runs alert, a failed handler job and its
alert, idempotency keys that embed her id or address, tracked links whose URL
carries her address, a merged-away contact, audit rows, admin history, a run
that failed quoting her address, a timeline, a provider event keyed by her
address, and a per-hit event not yet ingested.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent, EventType
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from alerts.cron import stranded_runs_check
from alerts.destinations import _consumer_data, deliveries_create
from alerts.handlers import HandlerCall
from alerts.models import Alert, HandlerJob, WebhookDelivery, WebhookEndpoint
from alerts.operator import support_alert
from contacts.erasure import contact_erase
from contacts.models import Contact, ContactAlias, EmailPreference, ErasureRecord
from contacts.preferences import preference_update
from hogsend_site.models import AuditLog
from hogsend_site.outbound import Emission
from hogsend_site.services import audit_log_record
from journeys.models import JourneyLog, JourneyRun, StepRecord
from tests.ops.test_erasure import person  # noqa: F401  (the fixture)
from tracking.bounces import provider_event_record
from tracking.models import (
    EmailSend,
    LinkClick,
    PendingEvent,
    ProviderEvent,
    TrackedLink,
    UserEvent,
)

pytestmark = pytest.mark.django_db

# What must be gone: her addresses (also URL-encoded), her external id, a
# property value, the comments she wrote.
FORBIDDEN = ["ada@example.com", "ada.old@example.com", "ada%40example.com", "u_ada",
             "+49 30 1234", "still broken", "call me", "printer on fire"]


def database_text() -> dict[str, str]:
    """Every value of every column of every table, as text, by table.

    Iterates the model registry, so a table added later is checked too. All
    concrete columns are read (not only Char/Text/JSON: a pickled django-q2
    argument comes back as the object), JSON as unescaped text.
    """
    dump: dict[str, list[str]] = {}
    for model in apps.get_models():
        if model._meta.proxy:
            continue  # its table is its concrete model's
        names = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.order_by("pk").values_list(*names):
            for value in row:
                if value is None or isinstance(value, bool | int | float):
                    continue
                text = value if isinstance(value, str) else json.dumps(
                    value, ensure_ascii=False, default=str)
                dump.setdefault(model._meta.db_table, []).append(text)
    return {table: "\n".join(values) for table, values in dump.items()}


def tables_naming(needle: str, dump: dict[str, str] | None = None) -> set[str]:
    """Tables whose text holds `needle` as a word of its own (not inside Adam's
    "bada@example.com" or "u_adam")."""
    dump = database_text() if dump is None else dump
    pattern = re.compile(rf"(?<![\w.%+-]){re.escape(needle)}(?!\w)", re.IGNORECASE)
    return {table for table, text in dump.items() if pattern.search(text)}


@pytest.fixture
def everywhere(person, settings, django_user_model) -> dict[str, Any]:  # noqa: F811
    ada, send, bob = person["contact"], person["send"], person["bystander"]
    now = timezone.now()
    settings.SUPPORT_ALERT_EMAIL = "support@team.test"

    # A contact merged into Ada earlier: soft-deleted, its old address an alias.
    loser = Contact.objects.create(email="ada.old@example.com", deleted_at=now,
                                   properties={"phone": "+49 30 1234", "city": "Lovelace Hall"})
    ContactAlias.objects.filter(value="ada.old@example.com").update(from_contact_id=loser.pk)

    # (c) idempotency keys that embed her address or id; a bystander's stays.
    UserEvent.objects.create(contact=ada, user_key="u_ada", event="signed_up",
                             idempotency_key="signup:ada@example.com")
    UserEvent.objects.create(contact=ada, user_key="u_ada", event="journey.heldout",
                             source="journey", idempotency_key="journey:heldout:onboarding:u_ada")
    UserEvent.objects.create(contact=bob, user_key="u_bob", event="signed_up",
                             idempotency_key="signup:bob@example.com")
    digest = EmailSend.objects.create(
        contact=ada, user_key="u_ada", to_email="ada@example.com", from_email="f@x.test",
        template_key="retention/weekly-digest", subject="Your week", status="failed",
        idempotency_key="digest:u_ada:2026-W24",
        error="SMTPRecipientsRefused: 550 5.1.1 <ada@example.com>: user unknown")
    UserEvent.objects.create(contact=ada, user_key="u_ada", source="tracking",
                             event="support.followup_answered.comment",
                             idempotency_key=f"semc:{send.pk}:support.followup_answered",
                             properties={"comment": "call me on +49 30 1234"})

    # (d) links whose URL carries her address, their clicks, a hit not yet ingested.
    link = TrackedLink.objects.create(
        email_send=send, original_url="https://app.test/welcome?email=ada%40example.com&ref=mail")
    TrackedLink.objects.create(email_send=digest,
                               original_url="https://app.test/u/ada@example.com#settings")
    LinkClick.objects.create(tracked_link=link, ip_address="198.51.100.7", user_agent="Safari",
                             destination_url=link.original_url)
    PendingEvent.objects.create(email_send=send, event="email.link_clicked", due_at=now,
                                properties={"linkId": str(link.pk), "linkUrl": link.original_url})

    # A provider event keyed by message id + type + her address (no event id).
    EmailSend.objects.filter(pk=send.pk).update(message_id="m-ada-1")
    provider_event_record(esp_name="Postmark", event=AnymailTrackingEvent(
        event_type=EventType.BOUNCED, recipient="ada@example.com", message_id="m-ada-1",
        description="550 ada@example.com: mailbox unavailable", esp_event={}))
    preference_update(contact=ada, email="ada@example.com", categories={"news": False},
                      source="link", actor="ada@example.com")

    # Runs: one failed quoting her address (so the stranded-runs alert lists it),
    # one exited with a reason naming her; their journal and timeline.
    failed = JourneyRun.objects.create(
        journey_id="c", contact=ada, user_key="u_ada", user_email="ada@example.com",
        status="failed", current_step="send:welcome", context={"phone": "+49 30 1234"},
        error_message="HogsendError: 550 rejected ada@example.com\nTraceback …")
    JourneyRun.objects.create(journey_id="d", contact=ada, user_key="u_ada", status="exited",
                              exit_reason="staff: ada@example.com asked us to stop")
    StepRecord.objects.create(run=failed, key="checkpoint:ada@example.com", kind="record",
                              at=now, value={"v": {"email": "ada@example.com"}})
    JourneyLog.objects.create(run=failed, action="send", to_step="send:welcome", created_at=now,
                              detail={"template": "welcome", "status": "failed",
                                      "email_send_id": str(digest.pk)})
    JourneyLog.objects.create(run=failed, action="failed", to_step="end-failed", created_at=now,
                              detail={"error": "550 rejected ada@example.com",
                                      "trace": "context={'phone': '+49 30 1234'}"})
    stranded_runs_check()

    # (b) the operator page for her reopen request (a real handler run: an Alert
    # and an email to the team quoting her address and comment), its job, and a
    # job that gave up with the alert it opened.
    reopen = UserEvent.objects.create(contact=ada, user_key="u_ada",
                                      event="support.reopen_requested",
                                      properties={"ticket_id": "T-1"})
    result = support_alert.fn(HandlerCall(event=reopen, contact=ada))
    assert result["status"] in ("sent", "queued"), result
    HandlerJob.objects.create(handler="support-alert", event=reopen, contact=ada, due_at=now,
                              status="done", result=result)
    given_up = HandlerJob.objects.create(
        handler="notify-lead", event=reopen, due_at=now, status="failed", attempts=11,
        last_error="ProviderError('550 ada@example.com')")
    Alert.objects.create(kind="handler_failed", dedupe_key=f"handler-failed:{given_up.pk}",
                         title="Not sent: notify-lead for lead.flagged (ada@example.com)",
                         payload={"jobId": given_up.pk, "properties": {"note": "call me"},
                                  "error": given_up.last_error})
    bob_alert = Alert.objects.create(kind="lead", title="Lead: bob@example.com",
                                     dedupe_key="lead-alert:u_bob:2026", contact=bob,
                                     payload={"leadEmail": "bob@example.com"})

    # Someone whose address and id contain hers: found by a text search for
    # hers, and left alone.
    adam = Contact.objects.create(external_id="u_adam", email="bada@example.com")
    Alert.objects.create(kind="lead", title="Lead: bada@example.com",
                         dedupe_key="lead-alert:u_adam:2026",
                         payload={"leadEmail": "bada@example.com"})
    audit_log_record(actor="ops-key", action="PUT contact", resource="contacts",
                     resource_id="u_adam", detail={"body": {"email": "bada@example.com"}})

    # (a) outbound deliveries of every shape about her (and one about Bob, one about Adam).
    WebhookEndpoint.objects.create(url="https://hooks.test/in", event_types=["*", "support.*"])
    pref = EmailPreference.objects.get(email="ada@example.com")
    comment = UserEvent.objects.get(event="support.followup_answered.comment", idempotency_key=None)
    run = JourneyRun.objects.get(journey_id="a")
    provider = ProviderEvent.objects.get(message_id="m-ada-1")
    deliveries_create([
        Emission("email.sent", {"send": send, "message_id": "m-ada-1", "sent_at": now},
                 f"email.sent:{send.pk}"),
        Emission("contact.created", {"contact": ada}, f"contact.created:{ada.pk}"),
        Emission("contact.created", {"contact": bob}, f"contact.created:{bob.pk}"),
        Emission("contact.created", {"contact": adam}, f"contact.created:{adam.pk}"),
        Emission("contact.unsubscribed", {"preference": pref, "source": "api", "at": now}),
        Emission("journey.completed", {"run": run, "journey": SimpleNamespace(name="A"),
                                       "at": now}, f"journey.completed:{run.pk}"),
        Emission("email.bounced", {"event": provider, "send": send},
                 f"email.bounced:{provider.pk}"),
        Emission("support.followup_answered.comment", _consumer_data(comment),
                 f"event:{comment.pk}"),
        Emission("email.clicked", {"emailSendId": str(send.pk), "userId": "u_ada",
                                   "linkUrl": link.original_url, "at": now}),
    ])
    WebhookDelivery.objects.filter(event_type="email.sent").update(
        status="delivered", response_body_snippet='{"ok": true, "to": "ada@example.com"}')

    # Audit rows: an admin API write about her, Django admin history.
    audit_log_record(actor="ops-key", action="PUT contact", resource="contacts",
                     resource_id="ada@example.com",
                     detail={"status": 200, "body": {"email": "ada@example.com",
                                                     "properties": {"phone": "+49 30 1234"}}})
    audit_log_record(actor="ops-key", action="PUT contact", resource="contacts",
                     resource_id="bob@example.com", detail={"body": {"email": "bob@example.com"}})
    staff = django_user_model.objects.create_user("dpo", is_staff=True)
    LogEntry.objects.create(user=staff, content_type=ContentType.objects.get_for_model(Contact),
                            object_id=str(ada.pk), object_repr="ada@example.com",
                            action_flag=CHANGE, change_message="[]")
    page = Alert.objects.get(kind="reopen_requested", email_send__isnull=False)
    LogEntry.objects.create(user=staff, content_type=ContentType.objects.get_for_model(Alert),
                            object_id=str(page.pk), object_repr=page.title[:200],
                            action_flag=CHANGE, change_message="[]")
    return {**person, "loser": loser, "link": link, "page": page, "bob_alert": bob_alert,
            "adam": adam}


def test_the_fixture_puts_her_data_everywhere(everywhere):
    """The test below proves something only if the data was there to begin with."""
    dump = database_text()
    for needle in FORBIDDEN:
        assert tables_naming(needle, dump), needle
    expected = {"alerts_webhookdelivery", "alerts_alert", "alerts_handlerjob",
                "tracking_emailsend", "tracking_trackedlink", "tracking_linkclick",
                "tracking_userevent", "tracking_providerevent", "tracking_pendingevent",
                "journeys_journeyrun", "journeys_steprecord", "journeys_journeylog",
                "contacts_contact", "contacts_contactalias", "contacts_emailpreference",
                "contacts_preferencechange", "hogsend_site_auditlog", "django_admin_log"}
    assert expected <= set().union(*(tables_naming(needle, dump) for needle in FORBIDDEN))


def test_after_erasure_nothing_of_her_is_left_in_any_table(everywhere):
    record = contact_erase(contact_id=everywhere["contact"].pk, actor="dpo@example.com")

    dump = database_text()
    left = {needle: sorted(tables_naming(needle, dump)) for needle in FORBIDDEN}
    assert left == {needle: [] for needle in FORBIDDEN}
    assert "ada" not in json.dumps(record.counts)
    assert ErasureRecord.objects.get().counts["webhook_deliveries"] == 7


def test_the_history_keeps_its_shape_and_other_people_keep_theirs(everywhere):
    ada, bob = everywhere["contact"], everywhere["bystander"]
    before = {model: model.objects.count() for model in (
        UserEvent, EmailSend, TrackedLink, LinkClick, ProviderEvent, JourneyRun, StepRecord,
        JourneyLog, Alert, HandlerJob, WebhookDelivery, AuditLog, LogEntry)}
    contact_erase(contact_id=ada.pk, actor="dpo")

    before[JourneyLog] += 1  # the live run's exit
    assert {model: model.objects.count() for model in before} == before
    # Unique keys were replaced by distinct pseudonyms, not blanked.
    keys = list(UserEvent.objects.exclude(idempotency_key=None).values_list(
        "idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) and "signup:bob@example.com" in keys
    assert sum(key.startswith("erased:") for key in keys) == 2
    assert any(key.startswith("semc:") for key in keys)  # ids only: kept
    digest = EmailSend.objects.get(template_key="retention/weekly-digest")
    assert digest.idempotency_key.startswith("erased:")
    assert digest.error == "SMTPRecipientsRefused: 550 5.1.1 <[erased]>: user unknown"
    # Deliveries: the delivered one kept its status, the pending ones are discarded.
    others = {str(bob.pk), str(everywhere["adam"].pk)}
    deliveries = list(WebhookDelivery.objects.all())
    ours = [d for d in deliveries if d.payload.get("contactId") not in others]
    assert {d.status for d in ours} == {"delivered", "discarded"}
    assert all(d.payload == {"erased": True} for d in ours)
    (bobs,) = [d for d in deliveries if d.payload.get("contactId") == str(bob.pk)]
    assert bobs.payload["email"] == "bob@example.com" and bobs.status == "pending"
    # Alerts: kind and status stay; the stranded-runs alert lists her run by its new key.
    stranded = Alert.objects.get(kind="stranded_runs")
    (item,) = [i for i in stranded.payload["runs"] if i["userKey"] == str(ada.pk)]
    assert item["reason"].startswith("failed: HogsendError: 550 rejected [erased]")
    assert Alert.objects.get(pk=everywhere["bob_alert"].pk).title == "Lead: bob@example.com"
    page = EmailSend.objects.get(pk=everywhere["page"].email_send_id)
    assert page.to_email == "support@team.test" and (page.subject, page.html) == ("", "")
    # The timeline keeps what happened, not to whom.
    failed_log = JourneyLog.objects.get(action="failed")
    assert failed_log.detail == {"erased": True}
    send_log = JourneyLog.objects.get(action="send", to_step="send:welcome")
    assert send_log.detail["template"] == "welcome" and send_log.detail["erased"] is True
    # Audit rows keep the fact.
    audit = AuditLog.objects.get(resource_id="[erased]")
    assert audit.action == "PUT contact" and audit.detail["body"]["email"] == "[erased]"
    assert AuditLog.objects.filter(resource_id="bob@example.com").exists()
    # Adam (u_adam, bada@example.com) is not Ada.
    assert AuditLog.objects.get(resource_id="u_adam").detail == {
        "body": {"email": "bada@example.com"}}
    assert Alert.objects.get(dedupe_key="lead-alert:u_adam:2026").payload == {
        "leadEmail": "bada@example.com"}
    (adams,) = [d for d in deliveries if d.payload.get("userId") == "u_adam"]
    assert adams.payload["email"] == "bada@example.com" and adams.status == "pending"
    entry = LogEntry.objects.get(object_id=str(ada.pk))
    assert entry.object_repr == str(ada.pk)


def test_an_erased_link_redirects_home_and_records_nothing(everywhere, client, settings):
    contact_erase(contact_id=everywhere["contact"].pk, actor="dpo")
    clicks = LinkClick.objects.count()

    response = client.get(f"/v1/t/c/{everywhere['link'].pk}",
                          HTTP_USER_AGENT="Mozilla/5.0 (Macintosh)")
    assert response.status_code == 302
    assert response["Location"] == settings.PUBLIC_BASE_URL
    assert LinkClick.objects.count() == clicks and not PendingEvent.objects.exists()


def test_erasing_twice_touches_nothing_more(everywhere):
    ada = everywhere["contact"]
    contact_erase(contact_id=ada.pk, actor="dpo")
    first = database_text()
    second = contact_erase(contact_id=ada.pk, actor="dpo")
    after = database_text()
    after.pop("contacts_erasurerecord"), first.pop("contacts_erasurerecord")
    assert second.counts["webhook_deliveries"] == 0 and second.counts["idempotency_keys"] == 0
    # Only timestamps may differ (updated_at of rows the second pass re-wrote).
    assert {t for t in after if _strip_times(after[t]) != _strip_times(first[t])} == set()


def _strip_times(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?", "T", text)


def test_sends_to_the_operator_about_someone_else_are_left_alone(everywhere):
    bob = everywhere["bystander"]
    other = UserEvent.objects.create(contact=bob, user_key="u_bob",
                                     event="support.reopen_requested",
                                     properties={"ticket_id": "T-2"})
    support_alert.fn(HandlerCall(event=other, contact=bob))
    contact_erase(contact_id=everywhere["contact"].pk, actor="dpo")
    page = Alert.objects.get(contact=bob, kind="reopen_requested")
    assert "bob@example.com" in page.title
    assert "bob@example.com" in EmailSend.objects.get(pk=page.email_send_id).html
    assert timezone.now() - page.created_at < timedelta(minutes=5)

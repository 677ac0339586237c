"""Outbound destinations: the catalogue reaches signed webhooks as deferred work.

A real receiver on localhost checks every signature with the Standard Webhooks
algorithm (re-implemented here, independently of the sender); the clock is
`run_due --inline` after time-machine moved time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from anymail.signals import AnymailTrackingEvent
from django.core.management import call_command
from django.urls import reverse

from alerts import delivery, destinations
from alerts.models import WebhookDelivery, WebhookEndpoint
from contacts.models import Contact
from contacts.preferences import preference_update
from hogsend_site import outbound
from journeys.engine import define_journey
from journeys.engine.registry import registry
from journeys.models import JourneyRun
from journeys.services import held_out
from tests.live_http import Hit, LiveServer, Reply, live_server
from tracking.bounces import provider_event_record
from tracking.ingest import EventInput, event_ingest, events_ingest
from tracking.mailer import email_send
from tracking.models import EmailSend, TrackedLink, UserEvent
from tracking.send_types import Origin

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
HUMAN = {"HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh)"}


# --- the receiving side ------------------------------------------------------------------


def verify(secret: str, hit: Hit, tolerance: int = 300) -> bool:
    """Standard Webhooks verification, as a receiver's library does it."""
    msg_id = hit.headers["webhook-id"]
    timestamp = hit.headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + hit.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, candidate.split(",", 1)[1])
        for candidate in hit.headers["webhook-signature"].split()
        if candidate.startswith("v1,")
    )


@pytest.fixture(autouse=True)
def localhost_receivers_allowed(settings) -> None:
    # The receiver listens on loopback, which endpoints may reach only when allowed.
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def clock_start() -> datetime:
    return NOON


@pytest.fixture
def receiver() -> Iterator[LiveServer]:
    with live_server() as server:
        yield server


@pytest.fixture
def endpoint(receiver: LiveServer) -> Callable[..., WebhookEndpoint]:
    """`endpoint(path, event_types=[], status=200)`: an endpoint whose receiver checks
    the signature (a bad one is answered 401) and then answers `status`."""

    def make(path: str = "/hooks", event_types: list[str] | None = None,
             status: int = 200) -> WebhookEndpoint:
        created = WebhookEndpoint.objects.create(url=receiver.url(path),
                                                 event_types=event_types or [])
        answer(receiver, path, created.secret, status)
        return created

    return make


def answer(receiver: LiveServer, path: str, secret: str, status: int) -> None:
    body = b"service unavailable" if status >= 500 else b'{"ok":true}'

    def route(hit: Hit) -> Reply:
        return Reply(status, body) if verify(secret, hit) else Reply(401, b"bad signature")

    receiver.routes[("POST", path)] = route


def run_due() -> None:
    call_command("run_due", "--inline", stdout=io.StringIO())


def deliveries(**filters) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(**filters).order_by("id"))


def emit_contact_created(contact: Contact) -> None:
    outbound.emit("contact.created", {"contact": contact},
                  dedupe_key=f"contact.created:{contact.pk}")


@pytest.fixture
def register() -> Iterator[Callable]:
    added: list[str] = []

    def add(journey):
        registry.add(journey)
        added.append(journey.id)
        return journey

    yield add
    for journey_id in added:
        registry.remove(journey_id)


# --- delivery -------------------------------------------------------------------------


def test_a_catalogue_event_is_posted_signed_with_the_standard_webhooks_scheme(
        ada, clock, receiver, endpoint, mailoutbox):
    hooks = endpoint()
    result = email_send(to=ada.email, template="support/followup", contact=ada,
                        props={"ticketId": "T-9"})
    [delivery] = deliveries()
    assert (delivery.event_type, delivery.dedupe_key, delivery.status) == (
        "email.sent", f"email.sent:{result.email_send_id}", "pending")
    assert receiver.hits == []  # the send never waited on the endpoint
    run_due()
    [hit] = receiver.hits
    assert verify(hooks.secret, hit)
    assert hit.headers["webhook-id"] == delivery.webhook_id
    assert hit.headers["webhook-id"].startswith("msg_")
    assert hit.headers["webhook-timestamp"] == str(int(NOON.timestamp()))
    assert hit.headers["content-type"] == "application/json"
    body = hit.json()
    assert body["type"] == "email.sent" and body["timestamp"] == "2026-06-17T12:00:00Z"
    assert body["data"]["emailSendId"] == result.email_send_id
    assert body["data"]["to"] == "ada@example.com"
    assert body["data"]["templateKey"] == "support/followup"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    assert delivery.response_body_snippet == '{"ok":true}'
    assert delivery.delivered_at == NOON and delivery.claimed_until is None


def test_the_body_envelope_carries_the_webhook_id_the_same_on_every_retry(
        ada, clock, receiver, endpoint):
    hooks = endpoint(status=503)
    emit_contact_created(ada)
    run_due()
    answer(receiver, "/hooks", hooks.secret, 200)
    clock.shift(timedelta(minutes=1))
    run_due()
    [delivery] = deliveries()
    assert delivery.status == "delivered" and len(receiver.hits) == 2
    for hit in receiver.hits:
        assert verify(hooks.secret, hit)  # signed over the body that carries the id
        body = hit.json()
        assert list(body) == ["id", "type", "timestamp", "data"]
        assert body["id"] == hit.headers["webhook-id"] == delivery.webhook_id
        assert (body["type"], body["timestamp"]) == ("contact.created", "2026-06-17T12:00:00Z")


def test_a_secret_is_whsec_and_24_random_bytes():
    first, second = WebhookEndpoint(url="https://a.test"), WebhookEndpoint(url="https://a.test")
    assert first.secret.startswith("whsec_") and first.secret != second.secret
    assert len(base64.b64decode(first.secret.removeprefix("whsec_"))) == 24


def test_nothing_is_written_or_queried_when_no_endpoint_subscribes(
        ada, endpoint, django_assert_num_queries):
    destinations.subscriptions()  # this process has looked once (then cached)
    with django_assert_num_queries(0):
        emit_contact_created(ada)
    endpoint(event_types=["support.*"])  # saving an endpoint refreshes the view
    destinations.subscriptions()
    with django_assert_num_queries(0):
        emit_contact_created(ada)
    assert WebhookDelivery.objects.count() == 0


def test_one_bulk_insert_per_emission_however_many_endpoints(
        ada, endpoint, django_assert_num_queries):
    for path in ("/a", "/b", "/c"):
        endpoint(path)
    destinations.subscriptions()
    # SAVEPOINT, the endpoints, the insert, RELEASE
    with django_assert_num_queries(4):
        emit_contact_created(ada)
    assert [d.endpoint.url.rsplit("/", 1)[1] for d in deliveries()] == ["a", "b", "c"]


def test_a_failing_endpoint_is_retried_on_schedule_then_dead_lettered(
        ada, clock, receiver, endpoint):
    endpoint(status=503)
    emit_contact_created(ada)
    [delivery] = deliveries()
    for attempt in range(1, 9):
        run_due()
        delivery.refresh_from_db()
        assert (delivery.attempts, len(receiver.hits)) == (attempt, attempt)
        assert delivery.response_status == 503 and delivery.last_error == "HTTP 503"
        if attempt == 8:
            break
        assert delivery.status == "pending"
        wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 5 * 2**attempt <= wait <= 5 * 2**attempt + 5
        clock.move_to(delivery.next_attempt_at - timedelta(seconds=1))
        run_due()
        assert len(receiver.hits) == attempt  # not due yet
        clock.move_to(delivery.next_attempt_at)
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.response_body_snippet == "service unavailable"
    assert len({hit.headers["webhook-id"] for hit in receiver.hits}) == 1  # one message id
    clock.shift(timedelta(days=1))
    run_due()
    assert len(receiver.hits) == 8


@pytest.mark.parametrize("status", [408, 429, 500])
def test_timeouts_throttling_and_server_errors_are_retryable(ada, clock, endpoint, status):
    endpoint(status=status)
    emit_contact_created(ada)
    run_due()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 1)


def test_a_network_error_is_retried(ada, clock):
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/nothing-listens")
    emit_contact_created(ada)
    run_due()
    [delivery] = deliveries()
    assert delivery.status == "pending" and delivery.response_status is None
    assert delivery.last_error


def test_a_400_fails_at_once(ada, clock, receiver, endpoint):
    endpoint(status=400)
    emit_contact_created(ada)
    run_due()
    clock.shift(timedelta(hours=7))
    run_due()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, 400)
    assert len(receiver.hits) == 1


def test_a_redirect_is_not_followed(ada, clock, receiver, endpoint):
    endpoint(status=302)
    emit_contact_created(ada)
    run_due()
    [delivery] = deliveries()
    assert (delivery.status, delivery.response_status) == ("failed", 302)


def test_a_duplicate_emission_is_delivered_once(ada, clock, receiver, endpoint):
    endpoint()
    emit_contact_created(ada)
    emit_contact_created(ada)
    run_due()
    emit_contact_created(ada)  # even after delivery
    run_due()
    assert len(deliveries()) == 1 and len(receiver.hits) == 1


def test_per_hit_events_carry_no_key_and_are_each_delivered(ada, clock, receiver, endpoint):
    endpoint(event_types=["support.*"])
    for _ in range(2):
        event_ingest(EventInput(name="support.ping", user_id="u_ada"))
    run_due()
    assert len(receiver.hits) == 2


def test_an_expired_sending_lease_is_claimed_again(ada, clock, receiver, endpoint):
    endpoint()
    emit_contact_created(ada)
    # A worker claimed it and died mid-POST.
    WebhookDelivery.objects.update(status="sending", attempts=1,
                                   claimed_until=NOON + timedelta(minutes=5))
    run_due()
    assert receiver.hits == []
    clock.shift(timedelta(minutes=5, seconds=1))
    run_due()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_a_disabled_endpoint_gets_nothing_new_and_its_queue_is_discarded(
        ada, clock, receiver, endpoint):
    hooks = endpoint()
    emit_contact_created(ada)
    hooks.disabled = True
    hooks.save()
    run_due()
    [delivery] = deliveries()
    assert delivery.status == "discarded" and delivery.last_error == "endpoint disabled"
    emit_contact_created(Contact.objects.create(external_id="u_bob"))
    assert len(deliveries()) == 1 and receiver.hits == []


def test_staff_redrive_a_dead_letter_from_the_admin(ada, clock, receiver, endpoint, admin_client):
    hooks = endpoint(status=400)
    emit_contact_created(ada)
    emit_contact_created(Contact.objects.create(external_id="u_bob"))
    run_due()
    failed, other = deliveries()
    WebhookDelivery.objects.filter(pk=other.pk).update(status="delivered")
    answer(receiver, "/hooks", hooks.secret, 200)  # the receiver was fixed
    clock.shift(timedelta(hours=1))
    response = admin_client.post(reverse("admin:alerts_webhookdelivery_changelist"), {
        "action": "redrive", "_selected_action": [failed.pk, other.pk]}, follow=True)
    assert "Re-driving 1 delivery" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert failed.next_attempt_at == NOON + timedelta(hours=1)
    run_due()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.response_status) == ("delivered", 1, 200)
    assert [hit.json()["data"]["userId"] for hit in receiver.hits] == ["u_ada", "u_bob", "u_ada"]


def test_backoff_is_capped_at_six_hours():
    assert delivery.backoff(20) == timedelta(hours=6)
    assert timedelta(seconds=10) <= delivery.backoff(1) <= timedelta(seconds=15)


# --- consumer events ------------------------------------------------------------------------


def test_a_consumer_event_reaches_the_endpoints_that_asked_for_it(ada, clock, receiver, endpoint):
    endpoint("/support", event_types=["support.*"])
    endpoint("/exact", event_types=["support.followup_answered"])
    endpoint("/catalogue", event_types=["*"])
    endpoint("/billing", event_types=["billing.invoice_paid"])
    stored = event_ingest(EventInput(name="support.followup_answered", user_id="u_ada",
                                     properties={"answer": "no"}))
    run_due()
    assert sorted(hit.path for hit in receiver.hits) == ["/exact", "/support"]
    body = receiver.hits[0].json()
    assert body["type"] == "support.followup_answered"
    assert body["data"]["eventId"] == stored.event.pk
    assert body["data"]["properties"] == {"answer": "no"} and body["data"]["userId"] == "u_ada"
    assert {d.dedupe_key for d in deliveries()} == {f"event:{stored.event.pk}"}


def test_a_duplicate_consumer_event_is_not_delivered_again(ada, clock, receiver, endpoint):
    endpoint(event_types=["support.*"])
    for _ in range(2):
        event_ingest(EventInput(name="support.answered", user_id="u_ada", idempotency_key="k1"))
    run_due()
    assert len(receiver.hits) == 1


# --- the catalogue, emitted where it happens ------------------------------------------------


@pytest.fixture
def catalogue(endpoint) -> WebhookEndpoint:
    return endpoint(event_types=[])


def payloads(event_type: str) -> list[dict]:
    return [d.payload for d in deliveries(event_type=event_type)]


def test_contact_created_for_one_new_contact_and_for_a_batch(clock, catalogue):
    event_ingest(EventInput(name="signed.up", user_id="u_new", email="new@example.com"))
    [created] = payloads("contact.created")
    contact = Contact.objects.get(external_id="u_new")
    assert created == {"contactId": str(contact.pk), "userId": "u_new",
                       "email": "new@example.com", "anonymousId": None,
                       "createdAt": "2026-06-17T12:00:00Z"}
    from contacts.identity import IdentifyRequest, contacts_identify_many

    contacts_identify_many(requests=[IdentifyRequest(user_id="u_b1"),
                                     IdentifyRequest(user_id="u_b2"),
                                     IdentifyRequest(user_id="u_new")])
    assert sorted(p["userId"] for p in payloads("contact.created")) == ["u_b1", "u_b2", "u_new"]


def test_contact_unsubscribed_and_subscribed_when_the_flag_flips(ada, clock, catalogue):
    preference_update(contact=ada, email=ada.email, unsubscribed_all=True, source="link")
    preference_update(contact=ada, email=ada.email, unsubscribed_all=True, source="link")
    preference_update(contact=ada, email=ada.email, unsubscribed_all=False, source="staff",
                      actor="sam")
    assert payloads("contact.unsubscribed") == [{
        "contactId": str(ada.pk), "userId": "u_ada", "email": "ada@example.com",
        "source": "link", "at": "2026-06-17T12:00:00Z"}]
    assert [p["source"] for p in payloads("contact.subscribed")] == ["staff"]


def test_journey_completed_once_per_run(ada, clock, catalogue, register):
    register(define_journey(id="hook-test", name="Hook test",
                            trigger="hook.start")(lambda user, ctx: None))
    event_ingest(EventInput(name="hook.start", user_id="u_ada"))
    run_due()
    run = JourneyRun.objects.get(journey_id="hook-test")
    assert run.status == "completed"
    [delivery] = deliveries(event_type="journey.completed")
    assert delivery.dedupe_key == f"journey.completed:{run.pk}"
    assert delivery.payload == {"journeyId": "hook-test", "journeyName": "Hook test",
                                "stateId": str(run.pk), "userId": "u_ada",
                                "userEmail": "ada@example.com",
                                "completedAt": "2026-06-17T12:00:00Z"}


def test_journey_heldout_for_a_control_group_member(clock, catalogue, register):
    journey = register(define_journey(id="holdout-test", name="Holdout test",
                                      trigger="hook.start",
                                      holdout={"percent": 50})(lambda user, ctx: None))
    user = next(f"u_{n}" for n in range(100) if held_out(journey, f"u_{n}"))
    event_ingest(EventInput(name="hook.start", user_id=user))
    run = JourneyRun.objects.get(journey_id="holdout-test")
    assert run.status == "held_out"
    [delivery] = deliveries(event_type="journey.heldout")
    assert delivery.dedupe_key == f"journey.heldout:{run.pk}"
    assert delivery.payload["stateId"] == str(run.pk) and delivery.payload["userId"] == user


@pytest.fixture
def followup(ada, mailoutbox) -> EmailSend:
    result = email_send(to=ada.email, template="support/followup", contact=ada,
                        props={"ticketId": "T-9"}, origin=Origin(journey_id="support-followup"))
    return EmailSend.objects.get(pk=result.email_send_id)


def test_opens_and_clicks_per_hit(client, clock, catalogue, followup,
                                  django_capture_on_commit_callbacks):
    link = TrackedLink.objects.filter(email_send=followup).first()
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/v1/t/o/{followup.pk}")
        client.get(f"/v1/t/o/{followup.pk}")
        client.get(f"/v1/t/c/{link.pk}", **HUMAN)
        client.head(f"/v1/t/c/{link.pk}", **HUMAN)  # a prefetch is not a click
    assert len(payloads("email.opened")) == 2
    [clicked] = payloads("email.clicked")
    assert clicked["linkId"] == str(link.pk) and clicked["linkUrl"] == link.original_url
    assert clicked["emailSendId"] == str(followup.pk) and clicked["userId"] == "u_ada"
    assert {d.dedupe_key for d in deliveries(event_type__in=["email.opened",
                                                             "email.clicked"])} == {None}


def test_email_action_when_an_answer_is_confirmed(client, clock, catalogue, followup):
    no = TrackedLink.objects.get(email_send=followup, event_properties__answer="no")
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)
    clock.shift(timedelta(seconds=31))
    run_due()
    [delivery] = deliveries(event_type="email.action")
    assert delivery.dedupe_key == f"sem:{followup.pk}:support.followup_answered"
    assert delivery.payload == {
        "event": "support.followup_answered", "properties": {"answer": "no", "ticketId": "T-9"},
        "emailSendId": str(followup.pk), "templateKey": "support/followup",
        "userId": "u_ada", "to": "ada@example.com", "at": "2026-06-17T12:00:31Z",
        "linkId": str(no.pk), "linkUrl": no.original_url}
    assert delivery.status == "delivered"


def test_email_bounced_and_complained_once_per_provider_event(ada, clock, catalogue, followup):
    EmailSend.objects.filter(pk=followup.pk).update(message_id="m-1")
    for kind, event_id in (("bounced", "e1"), ("bounced", "e1"), ("complained", "e2")):
        provider_event_record(event=AnymailTrackingEvent(
            event_type=kind, message_id="m-1", recipient=ada.email, event_id=event_id,
            timestamp=NOON, description="mailbox unknown", esp_event={}), esp_name="postmark")
    [bounced] = payloads("email.bounced")
    assert bounced["emailSendId"] == str(followup.pk) and bounced["bounceType"] == "permanent"
    assert bounced["to"] == "ada@example.com" and bounced["esp"] == "postmark"
    assert [p["bounceType"] for p in payloads("email.complained")] == ["complaint"]


def test_a_batch_of_events_from_new_people_announces_each_contact(clock, catalogue):
    events_ingest([EventInput(name="signed.up", user_id=f"u_{n}") for n in range(5)])
    assert len(payloads("contact.created")) == 5


# --- PostHog capture of answers ---------------------------------------------------------------


def test_confirmed_answers_are_captured_to_posthog_as_deferred_work(
        client, clock, receiver, followup, settings):
    settings.POSTHOG_CAPTURE_ANSWERS = True
    settings.POSTHOG_HOST = receiver.base_url
    settings.POSTHOG_PROJECT_API_KEY = "phc_test"
    receiver.routes[("POST", "/capture/")] = Reply(200, b'{"status":1}')
    no = TrackedLink.objects.get(email_send=followup, event_properties__answer="no")
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)
    assert receiver.hits == []
    clock.shift(timedelta(seconds=31))
    run_due()
    [hit] = receiver.hits_to("/capture/")
    body = hit.json()
    assert body["api_key"] == "phc_test" and body["event"] == "support.followup_answered"
    assert body["distinct_id"] == "u_ada" and body["timestamp"] == "2026-06-17T12:00:31Z"
    assert body["properties"]["answer"] == "no" and body["properties"]["ticketId"] == "T-9"
    assert body["properties"]["emailSendId"] == str(followup.pk)
    endpoint = WebhookEndpoint.objects.get(kind="posthog")
    [delivery] = deliveries(endpoint=endpoint)
    assert delivery.status == "delivered" and delivery.event_type == "email.action"


def test_no_capture_without_the_setting(client, clock, receiver, followup):
    no = TrackedLink.objects.get(email_send=followup, event_properties__answer="no")
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)
    clock.shift(timedelta(seconds=31))
    run_due()
    assert UserEvent.objects.filter(event="support.followup_answered").exists()
    assert not WebhookEndpoint.objects.exists() and receiver.hits == []


# --- admin ------------------------------------------------------------------------------------


def test_the_secret_is_shown_once_after_creation_then_masked(admin_client):
    response = admin_client.post(reverse("admin:alerts_webhookendpoint_add"), {
        "url": "https://hooks.example.com/in", "description": "CRM",
        "event_types": "email.sent\nsupport.*"}, follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["email.sent", "support.*"]
    assert endpoint.secret in response.content.decode()
    page = admin_client.get(reverse("admin:alerts_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()
    assert endpoint.secret[:10] + "…" in page.content.decode()


def test_the_secret_cannot_be_probed_through_lookups(admin_client, db):
    url = reverse("admin:alerts_webhookendpoint_changelist")
    assert admin_client.get(url, {"secret__startswith": "whsec_"}).status_code == 400


def test_an_endpoint_rejects_a_non_http_url(admin_client):
    response = admin_client.post(reverse("admin:alerts_webhookendpoint_add"), {
        "url": "ftp://example.com/x", "event_types": ""})
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()


def test_delivery_admin_is_read_only_and_filters(ada, admin_client, clock, catalogue):
    emit_contact_created(ada)
    delivery = deliveries()[0]
    changelist = reverse("admin:alerts_webhookdelivery_changelist")
    for params in ({}, {"status__exact": "pending"}, {"event_type": "contact.created"},
                   {"endpoint__id__exact": catalogue.pk}):
        listing = admin_client.get(changelist, params)
        assert listing.status_code == 200
        assert list(listing.context["cl"].result_list) == [delivery]
    assert list(admin_client.get(changelist, {"status__exact": "failed"}).context[
        "cl"].result_list) == []
    page = admin_client.get(reverse("admin:alerts_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200 and b"u_ada" in page.content
    assert admin_client.get(reverse("admin:alerts_webhookdelivery_add")).status_code == 403
    endpoint_page = admin_client.get(reverse("admin:alerts_webhookendpoint_change",
                                             args=[catalogue.pk]))
    assert delivery.webhook_id.encode() in endpoint_page.content
    assert admin_client.get(reverse("admin:alerts_webhookendpoint_changelist")).status_code == 200


# --- configuration checks ---------------------------------------------------------------------


def test_half_configured_posthog_is_a_warning(settings):
    from alerts.checks import check_posthog_settings

    assert check_posthog_settings(None) == []
    settings.POSTHOG_CAPTURE_ANSWERS = True
    settings.POSTHOG_PROJECT_ID = "42"
    assert [m.id for m in check_posthog_settings(None)] == ["hogsend.W301", "hogsend.W302"]

"""Outbound destinations: lifecycle events to signed webhooks (and answers to PostHog).

Emission (`hogsend_site.outbound.emit`, called by one-line hooks in the lower
apps, and this module's ingest hook) inserts one `WebhookDelivery` row per
subscribed endpoint, in the emitter's transaction, with one bulk insert; nothing
is written when no endpoint subscribes, and the check costs no query (the set
of subscribed event types is cached per process for `SUBSCRIPTIONS_TTL`, and
invalidated when an endpoint is saved or deleted here). Delivery is deferred
work: the `webhook-deliveries` due source (alerts/delivery.py) claims pending
rows whose `next_attempt_at` has come and POSTs them (see "Delivery" below).

Catalogue (event type: where it is emitted; dedupe key; the payload `data`)
---------------------------------------------------------------------------
email.sent         tracking/mailer.py, once the provider accepted the message;
                   `email.sent:<send id>`; {emailSendId, templateKey, category,
                   to, userId, journeyId, journeyRunId, subject, messageId, sentAt}
email.opened       every stored open (pixel hit); no key (per hit);
                   {emailSendId, templateKey, journeyId, userId, at}
email.clicked      every stored click by a person (scanner prefetch and HEAD
                   hits store none); no key (per hit); {emailSendId,
                   templateKey, journeyId, userId, linkId, linkUrl, at}
email.action       a semantic answer confirmed (tracking/semantic.py stores it
                   under `sem:<send>:<event>`); `sem:<send>:<event>`; {event,
                   properties (the link's), emailSendId, templateKey, userId,
                   to, at, linkId, linkUrl}
email.bounced      tracking/bounces.py, once per provider event;
                   `email.bounced:<provider event id>`; {emailSendId, to,
                   userId, bounceType (permanent|transient), description,
                   esp, at}
email.complained   likewise; `email.complained:<provider event id>`
journey.completed  journeys/engine/runner.py; `journey.completed:<run id>`;
                   {journeyId, journeyName, stateId, userId, userEmail, completedAt}
journey.heldout    a contact put in a journey's control group (the stored
                   `journey.heldout` event); `journey.heldout:<run id>`;
                   {journeyId, stateId, userId, userEmail, at}
contact.created    contacts/identity.py (one, or a batch); `contact.created:<id>`;
                   {contactId, userId, email, anonymousId, createdAt}
contact.unsubscribed / contact.subscribed
                   contacts/preferences.py `preference_update` when
                   `unsubscribed_all` flips (once per flip; no key);
                   {contactId, userId, email, source, at}

Consumer events: an endpoint whose `event_types` names one of the consumer's
own events (`support.followup_answered`) or a prefix pattern (`support.*`)
receives every freshly stored `UserEvent` it matches (reserved namespaces
excepted); key `event:<user event id>`; {event, eventId, userId, contactId,
properties, source, occurredAt}. `event_types` empty or `"*"` means every
catalogue event (never consumer events); patterns match catalogue names too.

Delivery
--------
Body: the envelope `{"id", "type", "timestamp", "data"}` (Standard Webhooks'
with `id`, the same `msg_...` as the `webhook-id` header; `timestamp` is the
emission instant, ISO 8601 UTC). Headers `webhook-id` (stable across retries:
receivers dedupe on it; delivery is at least once), `webhook-timestamp` (unix
seconds),
`webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
where the key is the base64-decoded secret after `whsec_`. 2xx => delivered;
408, 429, 5xx and network errors are retried (attempt n waits
min(5 s * 2**n + uniform(0, 5 s), 6 h)) up to 8 attempts (`alerts.delivery`), then `failed`
(the dead letter; staff re-drive it from the admin); any other status
(3xx: redirects are not followed; other 4xx) fails at once. A destination
that resolves to a loopback, private, link-local or otherwise non-public
address is refused when the endpoint is saved and again at every attempt
(alerts/egress.py; `WEBHOOK_ALLOWED_HOSTS` names hosts exempt from that): a
refused attempt sends nothing, stores no response and fails at once. A
disabled endpoint's deliveries are `discarded`. A `sending` row whose lease expired (a
killed worker) is claimed again; every claim counts as an attempt.

PostHog: with `POSTHOG_CAPTURE_ANSWERS` (+ `POSTHOG_HOST`,
`POSTHOG_PROJECT_API_KEY`), each `email.action` is also delivered, by the same
machinery, to a `posthog`-kind endpoint (created on first use) as a capture
call `{api_key, event, distinct_id, properties, timestamp, uuid}`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from alerts import delivery
from alerts.delivery import ACTION, posthog_capture_enabled
from alerts.models import WebhookDelivery, WebhookEndpoint
from hogsend_site import outbound
from hogsend_site.due import register_source
from hogsend_site.outbound import Emission
from journeys.models import JourneyRun
from tracking.dispatch import register_ingest_hook
from tracking.links import RESERVED_EVENT_RE
from tracking.models import TrackedLink, UserEvent

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
CATALOGUE = frozenset({
    "email.sent", "email.opened", "email.clicked", ACTION, "email.bounced",
    "email.complained", "journey.completed", "journey.heldout", "contact.created",
    "contact.unsubscribed", "contact.subscribed",
})
# Another process's endpoint change is seen within this many seconds.
SUBSCRIPTIONS_TTL = 5.0


# --- which endpoints want what ------------------------------------------------------


def matches(event_types: list[str], event_type: str) -> bool:
    """Does a subscription list take this event type? (see the module docstring)"""
    if event_type in CATALOGUE and (not event_types or "*" in event_types):
        return True
    return any(
        pattern == event_type
        or (pattern.endswith("*") and pattern != "*" and event_type.startswith(pattern[:-1]))
        for pattern in event_types
    )


def endpoint_wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    if endpoint.kind == WebhookEndpoint.Kind.POSTHOG:
        # Capture calls exist for answers only, and only while capture is on.
        return event_type == ACTION and posthog_capture_enabled()
    return matches(endpoint.event_types or [], event_type)


@dataclass(frozen=True)
class Subscriptions:
    """The union of every enabled endpoint's subscriptions, for a query-free check."""

    any_endpoint: bool = False
    catalogue_all: bool = False
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, endpoints: Iterable[tuple[str, list[str]]]) -> Subscriptions:
        any_endpoint, catalogue_all, names, prefixes = False, False, set(), set()
        for kind, event_types in endpoints:
            if kind == WebhookEndpoint.Kind.POSTHOG:
                continue  # wanted while the capture setting is on (see `wanted`)
            any_endpoint = True
            event_types = event_types or []
            catalogue_all = catalogue_all or not event_types or "*" in event_types
            for pattern in event_types:
                if pattern.endswith("*") and pattern != "*":
                    prefixes.add(pattern[:-1])
                else:
                    names.add(pattern)
        return cls(any_endpoint, catalogue_all, frozenset(names), tuple(sorted(prefixes)))

    def wants(self, event_type: str) -> bool:
        if self.catalogue_all and event_type in CATALOGUE:
            return True
        return event_type in self.names or event_type.startswith(self.prefixes)


_cache: dict[str, tuple[float, Subscriptions]] = {}


def subscriptions() -> Subscriptions:
    """This process's view of what is subscribed (one small query per TTL)."""
    cached = _cache.get("subscriptions")
    if cached is not None and time.monotonic() - cached[0] < SUBSCRIPTIONS_TTL:
        return cached[1]
    rows = WebhookEndpoint.objects.filter(disabled=False).values_list("kind", "event_types")
    subs = Subscriptions.of(rows)
    _cache["subscriptions"] = (time.monotonic(), subs)
    return subs


def subscriptions_cache_clear() -> None:
    """Forget this process's view (tests whose endpoint rows were rolled back)."""
    _cache.clear()


def subscriptions_invalidate(**kwargs: Any) -> None:
    """Endpoint saved or deleted: forget now, and again at commit (a reload in
    between would not have seen the change)."""
    _cache.clear()
    transaction.on_commit(_cache.clear)


def wanted(event_type: str) -> bool:
    """Does any destination subscribe to this event type? No query (cached)."""
    return subscriptions().wants(event_type) or (
        event_type == ACTION and posthog_capture_enabled())


# --- payloads of the hook lines (they pass objects; the world sees these) ------------------


def _email_sent(p: dict[str, Any]) -> dict[str, Any]:
    send = p["send"]
    return {"emailSendId": str(send.pk), "templateKey": send.template_key,
            "category": send.category, "to": send.to_email, "userId": send.user_key,
            "journeyId": send.journey_id, "journeyRunId": send.journey_run_id,
            "subject": send.subject, "messageId": p.get("message_id") or "",
            "sentAt": p.get("sent_at")}


def _provider_event(p: dict[str, Any]) -> dict[str, Any]:
    event, send = p["event"], p.get("send")
    return {"emailSendId": str(send.pk) if send else None, "to": event.recipient,
            "userId": send.user_key if send else "", "bounceType": event.bounce_class,
            "description": event.description, "esp": event.esp_name,
            "at": event.occurred_at or event.created_at}


def _journey_completed(p: dict[str, Any]) -> dict[str, Any]:
    run = p["run"]
    email = run.user_email or (run.contact.email if run.contact_id and run.contact else "")
    return {"journeyId": run.journey_id, "journeyName": p["journey"].name,
            "stateId": str(run.pk), "userId": run.user_key, "userEmail": email or "",
            "completedAt": p["at"]}


def _contact_created(p: dict[str, Any]) -> dict[str, Any]:
    contact = p["contact"]
    return {"contactId": str(contact.pk), "userId": contact.external_id,
            "email": contact.email, "anonymousId": contact.anonymous_id,
            "createdAt": contact.created_at}


def _preference_flip(p: dict[str, Any]) -> dict[str, Any]:
    pref = p["preference"]
    return {"contactId": str(pref.contact_id) if pref.contact_id else None,
            "userId": pref.user_key, "email": pref.email, "source": p.get("source", ""),
            "at": p.get("at")}


SHAPERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "email.sent": _email_sent,
    "email.bounced": _provider_event,
    "email.complained": _provider_event,
    "journey.completed": _journey_completed,
    "contact.created": _contact_created,
    "contact.unsubscribed": _preference_flip,
    "contact.subscribed": _preference_flip,
}


def shape(emission: Emission) -> dict[str, Any]:
    """The JSON `data` of an emission (catalogue shapers; anything else as given)."""
    shaper = SHAPERS.get(emission.event_type)
    data = shaper(emission.payload) if shaper else emission.payload
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


# --- emission: the sink and the ingest hook ----------------------------------------------


def outbound_sink(emissions: list[Emission]) -> None:
    """The `hogsend_site.outbound` sink: queue deliveries for what is subscribed."""
    todo = [emission for emission in emissions if wanted(emission.event_type)]
    if todo:
        deliveries_create(todo)


def deliveries_create(emissions: list[Emission]) -> int:
    """One pending delivery per (emission, subscribed enabled endpoint), due now.

    One endpoint query and one bulk insert, in a savepoint of the caller's
    transaction. Idempotent per (endpoint, dedupe key): a re-emission inserts
    nothing. Returns the rows offered for insert.
    """
    now = timezone.now()
    with transaction.atomic():
        if posthog_capture_enabled() and any(e.event_type == ACTION for e in emissions):
            posthog_endpoint_ensure()
        endpoints = list(WebhookEndpoint.objects.filter(disabled=False).only(
            "pk", "kind", "event_types"))
        rows = []
        for emission in emissions:
            targets = [ep for ep in endpoints if endpoint_wants(ep, emission.event_type)]
            data = shape(emission) if targets else None
            rows += [WebhookDelivery(endpoint_id=ep.pk, event_type=emission.event_type,
                                     dedupe_key=emission.dedupe_key, payload=data,
                                     next_attempt_at=now, created_at=now) for ep in targets]
        if rows:
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def posthog_endpoint_ensure() -> WebhookEndpoint:
    """The PostHog destination of the answer capture (created on first use)."""
    url = f"{settings.POSTHOG_HOST.rstrip('/')}/capture/"
    endpoint, created = WebhookEndpoint.objects.get_or_create(
        kind=WebhookEndpoint.Kind.POSTHOG,
        defaults={"url": url, "description": "PostHog (answer capture)",
                  "event_types": [ACTION]})
    if not created and endpoint.url != url:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=url)
    return endpoint


def destinations_on_ingest(stored: list[Any], now: datetime) -> None:
    """Ingest hook: stored events that are catalogue events or subscribed consumer events."""
    subs = subscriptions()
    if not subs.any_endpoint and not posthog_capture_enabled():
        return
    emissions: list[Emission] = []
    for item in stored:
        emissions += _emissions_of(item.event)
    if emissions:
        outbound.emit_many(emissions)


def _emissions_of(event: UserEvent) -> list[Emission]:
    out = []
    catalogue = _catalogue_name(event)
    if catalogue and wanted(catalogue):
        out.append(_CATALOGUE_BUILDERS[catalogue](event))
    if not RESERVED_EVENT_RE.match(event.event) and wanted(event.event):
        out.append(Emission(event.event, _consumer_data(event), f"event:{event.pk}"))
    return out


def _catalogue_name(event: UserEvent) -> str | None:
    """Which stored engine events are catalogue events (and as what)."""
    if event.source == "tracking":
        if event.event == "email.opened":
            return "email.opened"
        if event.event == "email.link_clicked":
            return "email.clicked"
        if (event.idempotency_key or "").startswith("sem:"):
            return ACTION  # tracking.semantic stores each confirmed answer under sem:<send>:<event>
    if event.source == "journey" and event.event == "journey.heldout":
        return "journey.heldout"
    return None


def _hit_data(event: UserEvent) -> dict[str, Any]:
    props = event.properties or {}
    data = {key: props.get(key) for key in ("emailSendId", "templateKey", "journeyId")}
    return {**data, "userId": event.user_key, "at": event.occurred_at}


def _opened(event: UserEvent) -> Emission:
    return Emission("email.opened", _hit_data(event))


def _clicked(event: UserEvent) -> Emission:
    props = event.properties or {}
    return Emission("email.clicked", {**_hit_data(event), "linkId": props.get("linkId"),
                                      "linkUrl": props.get("linkUrl")})


def _action(event: UserEvent) -> Emission:
    props = dict(event.properties or {})
    link = TrackedLink.objects.select_related("email_send").filter(
        pk=_uuid(props.get("linkId"))).first()
    send = link.email_send if link else None
    data = {"event": event.event,
            "properties": link.event_properties if link else props,
            "emailSendId": props.get("emailSendId"), "templateKey": props.get("templateKey"),
            "userId": event.user_key, "to": send.to_email if send else None,
            "at": event.occurred_at, "linkId": props.get("linkId"),
            "linkUrl": link.original_url if link else None}
    return Emission(ACTION, data, event.idempotency_key)


def _held_out(event: UserEvent) -> Emission:
    journey_id = (event.properties or {}).get("journeyId", "")
    run = JourneyRun.objects.filter(contact_id=event.contact_id, journey_id=journey_id,
                                    status=JourneyRun.Status.HELD_OUT).first()
    state_id = str(run.pk) if run else None
    data = {"journeyId": journey_id, "stateId": state_id, "userId": event.user_key,
            "userEmail": run.user_email if run else "", "at": event.occurred_at}
    return Emission("journey.heldout", data, f"journey.heldout:{state_id or event.pk}")


_CATALOGUE_BUILDERS: dict[str, Callable[[UserEvent], Emission]] = {
    "email.opened": _opened, "email.clicked": _clicked, ACTION: _action,
    "journey.heldout": _held_out,
}


def _consumer_data(event: UserEvent) -> dict[str, Any]:
    return {"event": event.event, "eventId": event.pk, "userId": event.user_key,
            "contactId": str(event.contact_id) if event.contact_id else None,
            "properties": event.properties or {}, "source": event.source,
            "occurredAt": event.occurred_at}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- services ---------------------------------------------------------------------------


def webhook_deliveries_redrive(*, delivery_ids: Iterable[Any]) -> int:
    """Re-drive failed or discarded deliveries: pending, 0 attempts, due now.

    Delivered, pending and in-flight rows are left alone; returns how many moved.
    """
    now = timezone.now()
    return WebhookDelivery.objects.filter(
        pk__in=list(delivery_ids), status__in=[Status.FAILED, Status.DISCARDED]
    ).update(status=Status.PENDING, attempts=0, next_attempt_at=now, claimed_until=None,
             updated_at=now)


def register() -> None:
    """Wire destinations in (AlertsConfig.ready()): sink, ingest hook, clock, cache, checks."""
    from alerts import checks  # noqa: F401  (registers the PostHog settings checks)

    outbound.register_sink("webhooks", outbound_sink)
    register_ingest_hook("destinations", destinations_on_ingest)
    register_source(delivery.DUE_SOURCE)
    for signal in (post_save, post_delete):
        signal.connect(subscriptions_invalidate, sender=WebhookEndpoint,
                       dispatch_uid=f"hogsend.destinations.invalidate.{signal is post_save}")

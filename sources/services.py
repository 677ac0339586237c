"""A verified webhook delivery becomes events through the one ingest path.

`source_webhook_receive()` parses the body, runs the source's transform and
ingests what it returns with `tracking.ingest.events_ingest`, so journeys
start, exit and wake exactly as for an event posted to /v1/events, and contact
properties merge through the contacts service inside that ingest. All of a
delivery's events are stored or none are. The sender's event id becomes the
idempotency key `src:<source>:<id>`: a retried delivery finds its key stored
and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from sources.definition import Ignore, Malformed, Source, SourceEvent, WebhookRequest
from tracking.ingest import EventInput, Ingested, events_ingest

logger = logging.getLogger(__name__)

KEY_PREFIX = "src:"
MAX_KEY = 255


@dataclass
class Received:
    events: list[Ingested] = field(default_factory=list)
    ignored: str | None = None


def source_webhook_receive(*, source: Source, request: WebhookRequest) -> Received:
    """Store the events a verified delivery carries (all or none).

    Raises `Malformed` (nothing stored) when the body is not JSON, the
    transform rejects it, or an event lacks what ingest needs. A delivery the
    transform ignores, or one whose events are all already stored, changes
    nothing and is not an error.
    """
    payload = _parse(request.body)
    outcome = _transform(source, payload, request)
    if isinstance(outcome, Ignore):
        return Received(ignored=outcome.reason)
    if not outcome:
        return Received(ignored="the delivery carries no event")
    inputs = [_event_input(source, event) for event in outcome]
    with transaction.atomic():
        results = events_ingest(inputs)
        failed = next((result for result in results if result.error), None)
        if failed is not None:
            # Raised inside the block: the events stored before it roll back too.
            raise Malformed(failed.error or "the event could not be stored")
    return Received(events=results)


def idempotency_key(source: Source, event_id: str | None) -> str | None:
    if not event_id:
        return None
    key = f"{KEY_PREFIX}{source.id}:{event_id}"
    if len(key) <= MAX_KEY:
        return key
    return f"{KEY_PREFIX}{source.id}:sha256:{hashlib.sha256(event_id.encode()).hexdigest()}"


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not a JSON number")


def _parse(body: bytes) -> Any:
    if not body.strip():
        raise Malformed("the body is empty")
    try:
        # NaN/Infinity would be stored in JSON columns PostgreSQL refuses.
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"the body is not JSON ({exc})") from exc


def _transform(source: Source, payload: Any, request: WebhookRequest) -> Ignore | list[SourceEvent]:
    try:
        outcome = source.transform(payload, request)
    except Malformed:
        raise
    except (LookupError, TypeError, ValueError, AttributeError) as exc:
        # A payload shaped unlike anything the transform expects: the sender's
        # problem to see (400), and a line here in case it is the transform's.
        logger.warning("webhook source %s could not read a payload: %r", source.id, exc)
        raise Malformed("the payload does not have the shape this source expects") from exc
    if outcome is None or isinstance(outcome, Ignore):
        return outcome or Ignore("the delivery carries no event")
    events = [outcome] if isinstance(outcome, SourceEvent) else list(_events(source, outcome))
    return events


def _events(source: Source, outcome: Iterable[Any]) -> Iterable[SourceEvent]:
    for item in outcome:
        if not isinstance(item, SourceEvent):
            logger.error("webhook source %s's transform returned %r, not a SourceEvent",
                         source.id, type(item).__name__)
            raise Malformed("the source could not map this payload")
        yield item


def _text(value: Any, what: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Malformed(f"{what} must be a string")
    text = str(value).strip()
    if len(text) > limit:
        raise Malformed(f"{what} is longer than {limit} characters")
    return text or None


def _event_input(source: Source, event: SourceEvent) -> EventInput:
    name = _text(event.name, "the event name", 200)
    if not name:
        raise Malformed("the event has no name")
    user_id = _text(event.user_id, "the user id", 255)
    email = _text(event.email, "the email", 320)
    anonymous_id = _text(event.anonymous_id, "the anonymous id", 200)
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise Malformed(f"{email!r} is not an email address") from exc
    if not (user_id or email or anonymous_id):
        raise Malformed(f"{name}: no user id or email to attribute the event to")
    if not isinstance(event.properties or {}, dict) or not isinstance(
            event.contact_properties or {}, dict):
        raise Malformed(f"{name}: properties must be JSON objects")
    occurred_at = event.occurred_at if isinstance(event.occurred_at, datetime) else None
    return EventInput(
        name=name, user_id=user_id, email=email, anonymous_id=anonymous_id,
        properties=dict(event.properties or {}),
        contact_properties=dict(event.contact_properties) if event.contact_properties else None,
        idempotency_key=idempotency_key(source, _text(event.event_id, "the event id", 1000)),
        occurred_at=occurred_at if occurred_at and occurred_at.tzinfo else None,
        source=source.event_source,
    )


__all__ = ["Received", "idempotency_key", "source_webhook_receive"]

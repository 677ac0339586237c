"""Event ingest: the one path every event takes (API, tracking, journeys, engine).

Order per event: the idempotency key is checked first, so a retried duplicate
touches nothing (not even the contact's properties); then the contact is resolved,
the event stored, and the dispatch hooks run (journeys start / exit / wake,
on-event handlers), all in one transaction. A batch shares its queries.

One event alone (the API's `POST /v1/events`, the engine's events) takes the
short road: its key is checked by the INSERT itself (ON CONFLICT DO NOTHING) and a
duplicate rolls back what resolving its contact wrote, so it still touches
nothing; a person already known by every key given is read with one SELECT.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts.identity import (
    LAST_SEEN_RESOLUTION,
    IdentifyRequest,
    _keys_of,
    _matches,
    contacts_identify_many,
    merge_properties,
)
from contacts.models import Contact
from hogsend_site.errors import HogsendError
from tracking.dispatch import run_ingest_hooks
from tracking.ingest_sql import events_insert, keyed_events_insert, live_contacts_holding
from tracking.models import UserEvent

logger = logging.getLogger(__name__)

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


@dataclass
class EventInput:
    """One event to ingest. `contact_id` pins a known contact (engine events)."""

    name: str
    user_id: str | None = None
    email: str | None = None
    anonymous_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    contact_properties: dict[str, Any] | None = None
    idempotency_key: str | None = None
    occurred_at: datetime | None = None
    source: str = "api"
    value: Decimal | float | None = None
    currency: str | None = None
    contact_id: Any = None
    groups: dict[str, str] | None = None


@dataclass
class Ingested:
    input: EventInput
    stored: bool = False
    event: UserEvent | None = None
    contact: Contact | None = None
    exits: list[dict[str, Any]] = field(default_factory=list)
    # What each dispatch hook reports about this event (journeys: enrolments).
    reactions: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # A lone known person whose last_seen_at is due (written with the event).
    seen_due: bool = False
    # The contact property keys resolving this event changed (None: not known,
    # read every key it carried as changed).
    changed_properties: frozenset[str] | None = None

    @property
    def contact_key(self) -> str | None:
        if self.event is not None:
            return self.event.user_key
        return self.contact.key if self.contact else None


def event_ingest(item: EventInput) -> Ingested:
    """Ingest one event. Raises `HogsendError` on bad input (nothing is stored)."""
    result = events_ingest([item])[0]
    if result.error:
        raise HogsendError(result.error)
    return result


def events_ingest(items: list[EventInput]) -> list[Ingested]:
    """Ingest many events in one transaction; a bad event fails alone."""
    now = timezone.now()
    results = [Ingested(input=item) for item in items]
    single = len(results) == 1
    with transaction.atomic():
        fresh = results if single else _drop_duplicates(results)
        _resolve_contacts(fresh, now)
        to_store = _first_of_each_key([r for r in fresh if r.error is None])
        _store(to_store, now)
        if single and _is_duplicate(results[0]):
            # Undo the contact's resolve: a duplicate touches nothing.
            transaction.set_rollback(True)
            return [Ingested(input=items[0])]
        stored = [r for r in fresh if r.stored]
        run_ingest_hooks(stored, now)
    return results


def engine_events_ingest(items: list[EventInput]) -> list[Ingested]:
    """Ingest events the engine built itself for contacts it knows (bucket
    transitions), in the caller's transaction: the same rows and the same hooks
    (journeys start, exit and wake on them as on any event) as `events_ingest`,
    with less on the way. Each item pins its contact (`contact_id`, read with one
    SELECT; none of its properties is written) and carries an idempotency key,
    which the INSERT itself checks (ON CONFLICT): a key already stored is not
    stored again, as a duplicate is not."""
    now = timezone.now()
    results = [Ingested(input=item) for item in items]
    if not results:
        return results
    if not all(item.idempotency_key and item.contact_id is not None for item in items):
        raise ValueError("an engine event names its contact and carries a key")
    _resolve_contacts(results, now)
    to_store = _first_of_each_key([r for r in results if r.error is None])
    if to_store:
        rows = [_event_row(r, now) for r in to_store]
        for result, row, written in zip(to_store, rows, keyed_events_insert(rows),
                                        strict=True):
            result.stored = written
            result.event = row if written else None
    run_ingest_hooks([r for r in results if r.stored], now)
    return results


def _is_duplicate(result: Ingested) -> bool:
    """A lone event whose key is already stored (its INSERT met the key)."""
    key = result.input.idempotency_key
    if not key or result.stored:
        return False
    if result.error is None:
        return True
    # Its contact could not be resolved: a stored key still answers "duplicate",
    # as the check before the resolve did.
    return UserEvent.objects.filter(idempotency_key=key).exists()


def _drop_duplicates(results: list[Ingested]) -> list[Ingested]:
    """Leave out results whose key is already stored: a duplicate touches nothing
    (stored=False, exits=[])."""
    keys = [r.input.idempotency_key for r in results if r.input.idempotency_key]
    if not keys:
        return results
    stored = set(UserEvent.objects.filter(idempotency_key__in=keys).values_list(
        "idempotency_key", flat=True))
    return [r for r in results if r.input.idempotency_key not in stored]


def _first_of_each_key(results: list[Ingested]) -> list[Ingested]:
    """Among valid events, a key repeated in one call is stored once (the first)."""
    seen: set[str] = set()
    kept = []
    for result in results:
        key = result.input.idempotency_key
        if key and key in seen:
            continue
        if key:
            seen.add(key)
        kept.append(result)
    return kept


def _event_row(result: Ingested, now: datetime) -> UserEvent:
    item = result.input
    value, currency = _money(item.value, item.currency)
    return UserEvent(
        contact=result.contact,
        user_key=(result.contact.key if result.contact
                  else item.user_id or item.anonymous_id or ""),
        event=item.name,
        properties=item.properties or {},
        groups=item.groups or {},
        source=item.source,
        idempotency_key=item.idempotency_key or None,
        value=value,
        currency=currency,
        occurred_at=item.occurred_at or now,
        created_at=now,
    )


def _store(results: list[Ingested], now: datetime) -> None:
    """INSERT the events; one whose key a concurrent request stored after the check
    (or, alone, at any time) is not stored."""
    if not results:
        return
    rows = [_event_row(r, now) for r in results]
    # A lone known person's last_seen_at goes with its event, in the same statement.
    seen = [r.contact for r in results if r.seen_due]
    for result, row, written in zip(results, rows, events_insert(rows, seen=seen, now=now),
                                    strict=True):
        result.stored = written
        result.event = row if written else None


def _money(value: Any, currency: str | None) -> tuple[Decimal | None, str]:
    if value is None:
        return None, ""
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None, ""
    if not amount.is_finite():
        logger.warning("dropping non-finite event value %r", value)
        return None, ""
    code = (currency or "").strip().upper()
    # numeric(14,2) rounds half away from zero (12.345 -> 12.35), as the reference stores it.
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), (
        code if CURRENCY_RE.match(code) else "")


def _contact_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _resolve_contacts(results: list[Ingested], now: datetime) -> None:
    """Set each result's contact: pinned ids in one query, everyone else through
    `contacts_identify_many` (a handful of queries per batch, not per event)."""
    pinned_ids = {_contact_uuid(r.input.contact_id) for r in results
                  if r.input.contact_id is not None} - {None}
    pinned = {c.pk: c for c in Contact.objects.filter(pk__in=pinned_ids)} if pinned_ids else {}
    named = [r for r in results if r.input.contact_id is None]
    for result in results:
        if result.input.contact_id is not None:
            # A pinned contact's properties are not written here.
            result.changed_properties = frozenset()
            result.contact = pinned.get(_contact_uuid(result.input.contact_id))
            if result.contact is None:
                result.error = f"unknown contact {result.input.contact_id}"
    if len(named) == 1:
        named[0].contact = _known_contact(named[0].input, now)
        if named[0].contact is not None:
            named[0].changed_properties = frozenset()  # its properties stay as they were
            last = named[0].contact.last_seen_at
            named[0].seen_due = last is None or now - last >= LAST_SEEN_RESOLUTION
        named = [r for r in named if r.contact is None]
    if not named:
        return
    identified = contacts_identify_many(now=now, requests=[
        IdentifyRequest(user_id=r.input.user_id, email=r.input.email,
                        anonymous_id=r.input.anonymous_id, properties=r.input.contact_properties)
        for r in named])
    for result, outcome in zip(named, identified, strict=True):
        if isinstance(outcome, HogsendError):
            result.error = outcome.message
        else:
            result.contact, result.changed_properties = outcome.contact, outcome.changed


def _known_contact(item: EventInput, now: datetime) -> Contact | None:
    """The one live contact that already holds every key of this event and whose
    properties it leaves as they are: what `contacts_identify_many` would answer,
    in one SELECT (its last_seen_at, due at most once a minute, is written with
    the event: `_store`). None for everything else (new people, a key to link, a
    merge, an alias, new properties): those take the full path."""
    keys = _keys_of(user_id=item.user_id, email=item.email, anonymous_id=item.anonymous_id)
    if not keys:
        return None
    found = live_contacts_holding(keys)
    if len(found) != 1:
        return None
    contact = found[0]
    if not all(_matches(contact, kind, value) for kind, value in keys.items()):
        return None
    if item.contact_properties and merge_properties(
            contact.properties, item.contact_properties) != contact.properties:
        return None
    return contact


def events_replay(*, event_ids: list[int]) -> list[Ingested]:
    """Re-ingest stored events through the whole pipeline (every guard applies).

    Each replay is a new event (source `replay`, occurring now) carrying the
    original's name, contact, properties and groups; the original is untouched.
    """
    originals = {e.pk: e for e in UserEvent.objects.filter(pk__in=event_ids)}
    missing = [pk for pk in event_ids if pk not in originals]
    if missing:
        raise HogsendError(f"unknown event id(s): {', '.join(map(str, missing))}")
    return events_ingest([
        EventInput(name=originals[pk].event, contact_id=originals[pk].contact_id,
                   user_id=None if originals[pk].contact_id else originals[pk].user_key,
                   properties=dict(originals[pk].properties or {}),
                   groups=dict(originals[pk].groups or {}), source="replay")
        for pk in event_ids
    ])

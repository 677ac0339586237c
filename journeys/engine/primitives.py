"""The recorded primitives: `ctx.variant`, `ctx.digest`, `ctx.throttle`, `ctx.trigger`.

Each records its outcome once per run (first writer wins) and returns the
recorded value on every replay, even if the database or the code changed since,
so a replay takes the branch the first execution took.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from journeys.engine import conditions
from journeys.engine.durations import MAX_WAIT
from journeys.engine.errors import Suspend
from journeys.engine.execution import Execution

logger = logging.getLogger("journeys.engine")

VARIANT_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
BUCKETS = 10_000
DIGEST_DEFAULT_MAX, DIGEST_MAX = 100, 500
DIGEST_DEFAULT_LOOKBACK = timedelta(minutes=15)


def bucket_of(text: str) -> int:
    """First 4 bytes of SHA-256, big-endian, mod 10,000: the reference engine's hash, so
    a person keeps the arm and holdout bucket it gave them."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % BUCKETS


def variant_arm(journey_id: str, key: str, user_id: str, arms: list[str]) -> str:
    bucket = bucket_of(f"variant:{journey_id}:{key}:{user_id}")
    for index, arm in enumerate(arms):
        if bucket < round((index + 1) / len(arms) * BUCKETS):
            return arm
    return arms[-1]


def variant(x: Execution, key: str, arms: list[str]) -> str:
    """A deterministic A/B arm for this person, recorded at first use."""
    if not isinstance(key, str) or not VARIANT_KEY.match(key):
        raise ValueError(f"variant key {key!r} must match {VARIANT_KEY.pattern}")
    if (
        not isinstance(arms, list | tuple)
        or not arms
        or not all(isinstance(a, str) and a for a in arms)
        or len(set(arms)) != len(arms)
    ):
        raise ValueError("variant arms must be a non-empty list of unique, non-empty strings")
    arm = x.journal.memo_now(
        f"variant:{key}", lambda: variant_arm(x.journey.id, key, x.run.user_key, list(arms))
    )
    if arm not in arms:
        logger.warning(
            "run %s: recorded arm %r of variant %r is no longer in %r",
            x.run.pk,
            arm,
            key,
            list(arms),
        )
    return arm


@dataclass(frozen=True)
class DigestEvent:
    properties: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class DigestResult:
    events: list[DigestEvent] = field(default_factory=list)
    count: int = 0
    truncated: bool = False
    flushed_at: datetime | None = None


def digest(
    x: Execution,
    *,
    window: timedelta,
    event: str | None = None,
    where: conditions.WhereSpec = None,
    max_events: int = DIGEST_DEFAULT_MAX,
    lookback: timedelta = DIGEST_DEFAULT_LOOKBACK,
    label: str | None = None,
) -> DigestResult:
    """Collect this person's events of one name over a window, then return them once."""
    if not isinstance(window, timedelta) or not timedelta(0) < window <= MAX_WAIT:
        raise ValueError("digest window must be > 0 and at most 720 h")
    event = event or x.journey.trigger_event
    if not event:
        raise TypeError("digest() needs an event")
    rules = conditions.normalize_where(where)
    if where is None and event == x.journey.trigger_event:
        rules = x.journey.trigger_where
    limit = min(max(int(max_events), 1), DIGEST_MAX)
    key = x.journal.key(f"digest:{event}", label)
    record = x.journal.get(key, "digest")
    if record is not None:
        x.replay(record)
        return _digest_from_json(record.value)
    deadline = x.parked_at(key)
    if deadline is None:
        deadline = x.clock + window  # the constant window, never a remainder
        x.log("sleep", key, until=deadline.isoformat(), digest=event)
    if timezone.now() < deadline:
        raise Suspend(wake_at=deadline, step=key, deadline=deadline)
    flushed = timezone.now()
    rows = events_of(x, event).filter(occurred_at__gte=deadline - window - lookback,
                                      occurred_at__lte=flushed)
    matched = [
        r
        for r in rows.order_by("occurred_at", "id")[: limit * 10 if rules else limit + 1]
        if conditions.matches(rules, r.properties)
    ]
    result = DigestResult(
        events=[DigestEvent(r.properties, r.occurred_at) for r in matched[:limit]],
        count=min(len(matched), limit),
        truncated=len(matched) > limit,
        flushed_at=flushed,
    )
    x.step_done(key, "digest", _digest_to_json(result))
    x.log("resume", key, count=result.count)
    return result


def _digest_to_json(result: DigestResult) -> dict[str, Any]:
    return {
        "events": [
            {"properties": e.properties, "occurred_at": e.occurred_at.isoformat()}
            for e in result.events
        ],
        "count": result.count,
        "truncated": result.truncated,
        "flushed_at": result.flushed_at.isoformat() if result.flushed_at else None,
    }


def _digest_from_json(value: dict[str, Any]) -> DigestResult:
    return DigestResult(
        events=[
            DigestEvent(e["properties"], parse_datetime(e["occurred_at"])) for e in value["events"]
        ],
        count=value["count"],
        truncated=value["truncated"],
        flushed_at=parse_datetime(value["flushed_at"]) if value.get("flushed_at") else None,
    )


@dataclass(frozen=True)
class ThrottleResult:
    allowed: bool
    count: int
    remaining: int


def throttle(
    x: Execution,
    *,
    limit: int,
    window: timedelta,
    category: str | None = None,
    label: str | None = None,
) -> ThrottleResult:
    """Advisory: has this person had fewer than `limit` emails in `window`? Recorded once."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError("throttle limit must be an integer >= 1")
    if not isinstance(window, timedelta) or window <= timedelta(0):
        raise ValueError("throttle window must be a positive timedelta")
    site = label or x.label or "start"
    key = f"throttle:{site}:{category or '*'}:{limit}/{int(window.total_seconds() * 1000)}"

    def compute() -> int:
        from tracking.models import EmailSend

        email = x.user().email
        sends = EmailSend.objects.filter(to_email=email, created_at__gte=x.clock - window)
        sends = sends.exclude(status__in=["failed", "suppressed"])
        if category:
            sends = sends.filter(category=category)
        return sends.count() if email else 0

    count = int(x.journal.memo_now(key, compute))
    return ThrottleResult(allowed=count < limit, count=count, remaining=max(limit - count, 0))


def events_of(x: Execution, event: str) -> Any:
    """This person's stored events of one name (contact-scoped when known)."""
    from tracking.models import UserEvent

    rows = UserEvent.objects.filter(event=event)
    if x.run.contact_id:
        return rows.filter(contact_id=x.run.contact_id)
    return rows.filter(user_key=x.run.user_key)


def trigger(
    x: Execution,
    event: str,
    properties: dict[str, Any] | None,
    *,
    user_id: str | None,
    idempotency_label: str | None,
) -> bool:
    """Ingest `event` for this run's person (`user_id`: someone else's) through the
    full pipeline, exactly once per run and site."""
    from tracking.ingest import EventInput, events_ingest

    site = idempotency_label or x.label or event
    key = x.journal.side_effect_key(f"journeyTrigger:{x.run.pk}:{site}:{event}")
    x.ensure_live()
    self_trigger = user_id in (None, x.run.user_key)
    item = EventInput(
        name=event,
        user_id=None if self_trigger else user_id,
        properties=dict(properties or {}),
        idempotency_key=key,
        source="journey",
        contact_id=x.run.contact_id if self_trigger else None,
    )
    if self_trigger and x.run.contact_id is None:
        item.user_id = x.run.user_key
    stored = events_ingest([item])[0]
    if stored.error:
        raise ValueError(f"trigger {event!r} failed: {stored.error}")
    if stored.stored:
        x.log("trigger", f"trigger:{event}", key=key)
    return stored.stored

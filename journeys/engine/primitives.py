"""The recorded decision primitives: `ctx.variant`, `ctx.digest`, `ctx.throttle`.

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
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from journeys.engine import conditions
from journeys.engine.context import Suspend
from journeys.engine.durations import MAX_WAIT

if TYPE_CHECKING:
    from journeys.engine.context import RunContext

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


def variant(ctx: RunContext, key: str, arms: list[str]) -> str:
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
    arm = ctx.record_once(
        f"variant:{key}", lambda: variant_arm(ctx.journey.id, key, ctx.run.user_key, list(arms))
    )
    if arm not in arms:
        logger.warning(
            "run %s: recorded arm %r of variant %r is no longer in %r",
            ctx.run.pk,
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
    ctx: RunContext,
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
    event = event or ctx.journey.trigger_event
    if not event:
        raise TypeError("digest() needs an event")
    rules = conditions.normalize_where(where)
    if where is None and event == ctx.journey.trigger_event:
        rules = ctx.journey.trigger_where
    limit = min(max(int(max_events), 1), DIGEST_MAX)
    key = ctx.key(f"digest:{event}", label)
    record = ctx.recorded(key, "digest")
    if record is not None:
        ctx.replay(record)
        return _digest_from_json(record.value)
    deadline = ctx.parked_at(key)
    if deadline is None:
        deadline = ctx.clock + window  # the constant window, never a remainder
        ctx.log("sleep", key, until=deadline.isoformat(), digest=event)
    if timezone.now() < deadline:
        raise Suspend(wake_at=deadline, step=key, deadline=deadline)
    flushed = timezone.now()
    rows = (
        ctx.events_of(event)
        .filter(occurred_at__gte=deadline - window - lookback, occurred_at__lte=flushed)
        .exclude(source="studio")
    )
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
    ctx.complete(key, "digest", _digest_to_json(result))
    ctx.log("resume", key, count=result.count)
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
    ctx: RunContext,
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
    site = label or ctx.current_label or "start"
    key = f"throttle:{site}:{category or '*'}:{limit}/{int(window.total_seconds() * 1000)}"

    def compute() -> int:
        from tracking.models import EmailSend

        email = ctx.user().email
        sends = EmailSend.objects.filter(to_email=email, created_at__gte=ctx.clock - window)
        sends = sends.exclude(status__in=["failed", "suppressed"])
        if category:
            sends = sends.filter(category=category)
        return sends.count() if email else 0

    count = int(ctx.record_once(key, compute))
    return ThrottleResult(allowed=count < limit, count=count, remaining=max(limit - count, 0))

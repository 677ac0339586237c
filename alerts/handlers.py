"""On-event handlers: functions subscribed to event names, run as django-q2 tasks.

    @on_event("support.reopen_requested", name="support-alert", retries=2,
              delay=minutes(3))
    def support_alert(call: HandlerCall) -> dict: ...

Every freshly stored event of a subscribed name (duplicates never are) gets one
`HandlerJob` row, due after `delay` (a grace window, e.g. to let a comment
land). Jobs are deferred work like everything else: claimed with a lease (the
handler's time limit), retried with backoff up to `retries` times (30 s
doubling; `max_backoff` caps the wait). Handlers must be idempotent by their
own keys (email_send's idempotency_key), so a retry after a successful send
sends nothing. A job that gives up is `failed` (admin, `/metrics`); with
`alert_on_failure` it also opens an `Alert` in the support console.

The defaults (2 retries, 15 min) are the reference engine's, so a handler
ported from it behaves the same; the shipped operator alerts
(alerts/operator.py) retry for hours instead, so a provider outage delays a
page rather than losing it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from contacts.models import Contact
from tracking.models import UserEvent

# The first retry's wait; each further one doubles (alerts.services uses the same base).
RETRY_BASE = timedelta(seconds=30)


@dataclass(frozen=True)
class HandlerCall:
    """What a handler receives: the stored event and its contact."""

    event: UserEvent
    contact: Contact | None

    @property
    def user_id(self) -> str:
        return self.event.user_key

    @property
    def user_email(self) -> str:
        return (self.contact.email if self.contact else "") or ""

    @property
    def properties(self) -> dict[str, Any]:
        return self.event.properties or {}

    @property
    def journey_run_id(self) -> str | None:
        """The run that fired this event through ctx.trigger, if any.

        Read from the trigger's key (`journeyTrigger:<run>:<site>:<event>`),
        and only for events a journey stored: an API client may send any key.
        """
        key = self.event.idempotency_key or ""
        if self.event.source != "journey" or not key.startswith("journeyTrigger:"):
            return None
        try:
            return str(uuid.UUID(key.split(":")[1]))
        except ValueError:
            return None


@dataclass(frozen=True)
class Handler:
    name: str
    events: tuple[str, ...]
    fn: Callable[[HandlerCall], dict[str, Any] | None]
    retries: int = 2
    timeout: timedelta = timedelta(minutes=15)
    delay: timedelta = timedelta(0)
    max_backoff: timedelta | None = None
    alert_on_failure: bool = False

    def retry_delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt `attempt` (1-based): 30 s doubling, capped."""
        delay = RETRY_BASE * 2 ** (attempt - 1)
        return min(delay, self.max_backoff) if self.max_backoff else delay


class HandlerRegistry:
    def __init__(self) -> None:
        self.by_name: dict[str, Handler] = {}
        self.by_event: dict[str, list[Handler]] = defaultdict(list)

    def add(self, handler: Handler) -> Handler:
        self.by_name[handler.name] = handler
        self._reindex()
        return handler

    def remove(self, name: str) -> None:
        self.by_name.pop(name, None)
        self._reindex()

    def _reindex(self) -> None:
        self.by_event = defaultdict(list)
        for handler in self.by_name.values():
            for event in handler.events:
                self.by_event[event].append(handler)


handlers = HandlerRegistry()


def on_event(*events: str, name: str, retries: int = 2, timeout: timedelta = timedelta(minutes=15),
             delay: timedelta = timedelta(0), max_backoff: timedelta | None = None,
             alert_on_failure: bool = False) -> Callable[[Callable], Handler]:
    if not events or not all(isinstance(e, str) and e for e in events):
        raise TypeError("on_event() needs at least one event name")

    def decorate(fn: Callable[[HandlerCall], dict[str, Any] | None]) -> Handler:
        return handlers.add(Handler(name=name, events=tuple(events), fn=fn, retries=retries,
                                    timeout=timeout, delay=delay, max_backoff=max_backoff,
                                    alert_on_failure=alert_on_failure))

    return decorate

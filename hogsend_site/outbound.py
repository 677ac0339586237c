"""The outbound seam: lifecycle events leave the product through here.

The lowest layer, so contacts, tracking and journeys can announce what
happened (`email.sent`, `journey.completed`, `contact.created`, ...) without
importing the apps that deliver it. Sinks are registered in a higher app's
`AppConfig.ready()` (alerts: webhook endpoints, see `alerts/destinations.py`,
which also documents the catalogue and the payload each event carries).

Contract for callers: `emit()` runs inside the caller's transaction and never
raises; a hook line is one call. Payload values may be model instances: the
sink shapes them into JSON at once (a snapshot of the emit instant), and only
when some destination subscribes to the event type, so a hook costs a dict and
a set lookup when nothing listens.

Contract for sinks: cheap when uninterested (no query), all writes in one
savepoint (a failed insert must not poison the caller's transaction), and never
a network call in the caller's path (deliveries are deferred work).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Emission:
    event_type: str
    payload: dict[str, Any]
    # Re-emission by a retrying producer is absorbed per destination by this
    # key; per-hit events (opens, clicks) carry none.
    dedupe_key: str | None = None


Sink = Callable[[list[Emission]], None]

_sinks: dict[str, Sink] = {}


def register_sink(name: str, sink: Sink) -> None:
    """Register (or replace, so reloads are idempotent) a sink by name."""
    _sinks[name] = sink


def emit(event_type: str, payload: dict[str, Any], *, dedupe_key: str | None = None) -> None:
    """Announce one lifecycle event to every sink (inside the caller's transaction)."""
    emit_many([Emission(event_type, payload, dedupe_key)])


def emit_many(emissions: Iterable[Emission]) -> None:
    """Announce several events at once (one insert per sink, e.g. a batch of contacts)."""
    if not _sinks:
        return
    items = list(emissions)
    if not items:
        return
    for name, sink in list(_sinks.items()):
        try:
            sink(items)
        except Exception:  # an outbound failure never fails the send, run or write
            logger.exception("outbound sink %s failed on %s", name,
                             sorted({item.event_type for item in items}))

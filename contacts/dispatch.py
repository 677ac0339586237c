"""The seam between contact property writes (low) and what reacts to them
(higher apps), as tracking/dispatch.py is for events.

`contact_upsert` (`PUT /v1/contacts`) runs every registered hook with what it
wrote, inside its transaction. Hooks are registered in the higher apps'
`AppConfig.ready()` (buckets: re-evaluate the segments that read the changed
keys). Properties written with an event reach the same code through the ingest
hooks instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PropertiesWritten:
    """One contact's property write: the keys it named and those whose value changed
    (a key sent again with the value it had is named but not changed)."""

    contact_id: Any
    changed: frozenset[str]
    sent: frozenset[str]


PropertiesHook = Callable[[list[PropertiesWritten], datetime], None]

_hooks: dict[str, PropertiesHook] = {}


def register_properties_hook(name: str, hook: PropertiesHook) -> None:
    """Register (or replace, so reloads are idempotent) a hook by name."""
    _hooks[name] = hook


def run_properties_hooks(writes: list[PropertiesWritten], now: datetime) -> None:
    if not writes:
        return
    for hook in list(_hooks.values()):
        hook(writes, now)

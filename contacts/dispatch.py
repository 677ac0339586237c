"""The seam between contact property writes (low) and what reacts to them
(higher apps), as tracking/dispatch.py is for events.

`contact_upsert` (`PUT /v1/contacts`) runs every registered hook with the
contact ids and the property keys it wrote, inside its transaction. Hooks are
registered in the higher apps' `AppConfig.ready()` (buckets: re-evaluate the
segments that read those keys). Properties written with an event reach the
same code through the ingest hooks instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

PropertiesHook = Callable[[list[tuple[Any, frozenset[str]]], datetime], None]

_hooks: dict[str, PropertiesHook] = {}


def register_properties_hook(name: str, hook: PropertiesHook) -> None:
    """Register (or replace, so reloads are idempotent) a hook by name."""
    _hooks[name] = hook


def run_properties_hooks(changes: list[tuple[Any, frozenset[str]]], now: datetime) -> None:
    if not changes:
        return
    for hook in list(_hooks.values()):
        hook(changes, now)

"""The one seam between ingest (low) and what reacts to events (higher apps).

Ingest calls every registered hook once per ingest call with the freshly stored
events of that call, inside the ingest transaction. Hooks are registered in the
higher apps' `AppConfig.ready()` (journeys: start, exit and wake runs; alerts:
on-event handlers); they schedule their follow-up work with
`transaction.on_commit`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracking.ingest import Ingested

IngestHook = Callable[[list["Ingested"], datetime], None]

_hooks: dict[str, IngestHook] = {}


def register_ingest_hook(name: str, hook: IngestHook) -> None:
    """Register (or replace, so reloads are idempotent) a hook by name."""
    _hooks[name] = hook


def run_ingest_hooks(stored: list[Ingested], now: datetime) -> None:
    if not stored:
        return
    for hook in list(_hooks.values()):
        hook(stored, now)

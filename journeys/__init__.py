"""Journeys. The author API is importable from here:

    from journeys import RunContext, User, days, define_journey, hours, minutes

The names are loaded on first use: this package is also the Django app, which
is imported before models may be, and the engine imports models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeys.engine import (
        DefinitionError,
        DuplicateLabel,
        Journey,
        JourneyChanged,
        RunContext,
        SleepResult,
        User,
        WaitResult,
        WhereBuilder,
        days,
        define_journey,
        hours,
        minutes,
        seconds,
        send_email,
    )

__all__ = [
    "DefinitionError",
    "DuplicateLabel",
    "Journey",
    "JourneyChanged",
    "RunContext",
    "SleepResult",
    "User",
    "WaitResult",
    "WhereBuilder",
    "days",
    "define_journey",
    "hours",
    "minutes",
    "seconds",
    "send_email",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("journeys.engine"), name)
    raise AttributeError(f"module 'journeys' has no attribute {name!r}")

"""Journeys. The author API is importable from here:

    from journeys import RunContext, User, days, define_journey, hours, minutes

The names are loaded on first use: this package is also the Django app, which
is imported before models may be, and the engine imports models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Type checkers see the engine's __all__ as this package's names.
    from journeys.engine import *  # noqa: F403


def __getattr__(name: str) -> Any:
    # The author API is journeys.engine's __all__; importing it here, at first use,
    # keeps the app importable before the models are.
    engine = importlib.import_module("journeys.engine")
    if name in engine.__all__:
        return getattr(engine, name)
    raise AttributeError(f"module 'journeys' has no attribute {name!r}")

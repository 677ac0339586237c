"""Buckets: real-time segments defined in code.

The authoring API::

    from buckets import all_, days, define_bucket, event, not_, prop

    dormant = define_bucket(
        id="dormant-30d", name="Dormant for 30 days",
        criteria=all_(event("app.active"), not_(event("app.active").within(days(30)))),
    )

See `buckets.definition` (the options) and `buckets.criteria` (the operators).
"""

from __future__ import annotations

import importlib
from typing import Any

# Re-exported lazily: this package is imported while Django loads its apps, and
# the criteria reuse the journeys' condition engine, which needs the models.
_EXPORTS = {
    "Bucket": "buckets.definition",
    "DefinitionError": "buckets.definition",
    "define_bucket": "buckets.definition",
    "CriteriaError": "buckets.criteria",
    "all_": "buckets.criteria",
    "any_": "buckets.criteria",
    "event": "buckets.criteria",
    "not_": "buckets.criteria",
    "prop": "buckets.criteria",
    "days": "journeys.engine.durations",
    "hours": "journeys.engine.durations",
    "minutes": "journeys.engine.durations",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'buckets' has no attribute {name!r}")

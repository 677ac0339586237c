"""Admin-plane fixtures: clean rate-limit counters, the journeys `register` fixture,
and a helper that pages through the audit log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.journeys.conftest import clock, register

__all__ = ["clock", "fresh_rate_limits", "register"]


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """The admin plane's rate-limit counters live in the cache: start with none."""
    cache.clear()
    yield
    cache.clear()

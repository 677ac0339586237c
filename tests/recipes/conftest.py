from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """The hosted pages' rate-limit counters live in the cache: start with none."""
    cache.clear()
    yield
    cache.clear()

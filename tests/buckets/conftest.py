"""Fixtures: a test registers its own buckets and journeys (`add_bucket`, `add_journey`
in tests/conftest.py) on a clock frozen at START."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

# The bucket tests import these helpers from here.
from tests.conftest import ingest, run_due  # noqa: F401

START = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    return START

"""Fixtures: `clock` (tests/conftest.py) stands at its default, 2026-06-16 14:40 UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from journeys.engine import Journey
from journeys.engine.registry import registry

# Tests here and in other folders import these from this module.
from tests.conftest import ingest, run_due  # noqa: F401


@pytest.fixture
def register(add_journey: Callable[[Journey], Journey]) -> Callable[[Journey], Journey]:
    """`add_journey` (tests/conftest.py) by the name the journeys tests use."""
    return add_journey


@pytest.fixture
def kill_journey() -> Iterator[Journey]:
    """The SIGKILL test journey (tests/journeys/kill_journeys.py), registered here too."""
    from journeys.engine.registry import discover

    journey = discover("tests.journeys.kill_journeys")[0]
    registry.add(journey)
    yield journey
    registry.remove(journey.id)

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command

from journeys.engine import Journey
from journeys.engine.registry import registry
from tracking.ingest import EventInput, event_ingest


@pytest.fixture
def register() -> Iterator[Callable[[Journey], Journey]]:
    """Run a test with only the journeys it registers (the shipped ones step aside)."""
    shipped = list(registry)
    for journey in shipped:
        registry.remove(journey.id)

    def add(journey: Journey) -> Journey:
        registry.add(journey)
        return journey

    yield add
    for journey in list(registry):
        registry.remove(journey.id)
    for journey in shipped:
        registry.add(journey)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(datetime(2026, 6, 16, 14, 40, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def ingest(name: str, user_id: str = "u1", **kwargs):
    return event_ingest(EventInput(name=name, user_id=user_id, **kwargs))


def run_due() -> None:
    call_command("run_due", "--inline", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture
def kill_journey() -> Iterator[Journey]:
    """The SIGKILL test journey (tests/journeys/kill_journeys.py), registered here too."""
    from journeys.engine.registry import discover

    journey = discover("tests.journeys.kill_journeys")[0]
    registry.add(journey)
    yield journey
    registry.remove(journey.id)

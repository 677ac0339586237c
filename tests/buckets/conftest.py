"""Fixtures: a test runs with only the buckets (and journeys) it registers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command

from buckets import due as bucket_due
from buckets.definition import Bucket
from buckets.registry import registry
from journeys.engine import Journey
from journeys.engine.registry import registry as journeys
from tracking.ingest import EventInput, event_ingest

START = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def add_bucket() -> Iterator[Callable[[Bucket], Bucket]]:
    """Register buckets for one test; the shipped ones step aside meanwhile."""
    shipped = list(registry)
    for bucket in shipped:
        registry.remove(bucket.id)
    bucket_due.reset()

    def add(bucket: Bucket) -> Bucket:
        registry.add(bucket)
        return bucket

    yield add
    for bucket in list(registry):
        registry.remove(bucket.id)
    for bucket in shipped:
        registry.add(bucket)
    bucket_due.reset()


@pytest.fixture
def add_journey() -> Iterator[Callable[[Journey], Journey]]:
    """Register journeys for one test; the shipped ones step aside meanwhile."""
    shipped = list(journeys)
    for journey in shipped:
        journeys.remove(journey.id)

    def add(journey: Journey) -> Journey:
        journeys.add(journey)
        return journey

    yield add
    for journey in list(journeys):
        journeys.remove(journey.id)
    for journey in shipped:
        journeys.add(journey)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def ingest(name: str, user_id: str = "u1", **kwargs):
    return event_ingest(EventInput(name=name, user_id=user_id, **kwargs))


def run_due() -> None:
    call_command("run_due", "--inline", stdout=open("/dev/null", "w"))  # noqa: SIM115

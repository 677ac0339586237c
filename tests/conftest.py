"""Shared fixtures: API clients with keys, the canonical personas, a frozen clock,
and tests that run with only the journeys or buckets they register."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import time_machine
from django.core.management import call_command
from rest_framework.test import APIClient

from contacts.models import Contact
from contacts.preferences import preference_update
from hogsend_site.auth import api_key_create
from tracking.ingest import EventInput, event_ingest

T = TypeVar("T")


@pytest.fixture
def ingest_key(db) -> str:
    return api_key_create(name="ingest", scopes=["ingest"])[1]


@pytest.fixture
def admin_key(db) -> str:
    return api_key_create(name="admin", scopes=["admin"])[1]


@pytest.fixture
def api(ingest_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ingest_key}")
    return client


@pytest.fixture
def admin_api(admin_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_key}")
    return client


@pytest.fixture
def ada(db) -> Contact:
    """An identified contact with an email and a timezone."""
    return Contact.objects.create(external_id="u_ada", email="ada@example.com",
                                  timezone="Europe/Berlin")


@pytest.fixture
def anon(db) -> Contact:
    """An anonymous visitor: no email, no external id."""
    return Contact.objects.create(anonymous_id="anon_1")


@pytest.fixture
def unsubscribed(db) -> Contact:
    """An identified contact who unsubscribed from everything."""
    contact = Contact.objects.create(external_id="u_gone", email="gone@example.com")
    preference_update(contact=contact, email=contact.email, unsubscribed_all=True, source="api")
    return contact


@pytest.fixture
def support_user(db, django_user_model):
    """A staff member in the "support" group (hogsend_site/staff.py), not a superuser."""
    from hogsend_site.staff import support_group_sync

    user = django_user_model.objects.create_user("sam", password="sam-pw", is_staff=True)
    user.groups.add(support_group_sync())
    return user


@pytest.fixture
def support_client(support_user):
    from django.test import Client

    client = Client()
    client.force_login(support_user)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_due_sources() -> None:
    """The bucket and campaign clock sources remember, per process, what they
    synced and found empty, and the webhook destinations what is subscribed;
    each test's rows are rolled back, so no test may inherit that memory (it
    changes which statements a clock pass issues)."""
    from alerts import destinations
    from buckets import due as bucket_due
    from campaigns import due as campaign_due

    bucket_due.reset()
    campaign_due.reset()
    destinations.subscriptions_cache_clear()


@pytest.fixture
def start_of_a_minute():
    """Rate limits count per fixed minute: start at :00 so a test's requests never
    straddle two windows (time still runs)."""
    import time_machine

    with time_machine.travel(datetime(2026, 6, 17, 12, 0, 0, tzinfo=UTC), tick=True):
        yield


# --- a frozen clock, and running what is due -----------------------------------------


@pytest.fixture
def clock_start() -> datetime:
    """Where `clock` freezes time; a folder's conftest or a test module overrides it."""
    return datetime(2026, 6, 16, 14, 40, tzinfo=UTC)


@pytest.fixture
def clock(clock_start: datetime) -> Iterator[time_machine.Coordinates]:
    """Time frozen at `clock_start`; the test moves it (`shift`, `move_to`)."""
    with time_machine.travel(clock_start, tick=False) as traveller:
        yield traveller


def run_due() -> None:
    """One pass of the clock: everything due at this (frozen) instant is done after it."""
    call_command("run_due", "--inline", stdout=io.StringIO())


def ingest(name: str, user_id: str = "u1", **kwargs: Any) -> Any:
    return event_ingest(EventInput(name=name, user_id=user_id, **kwargs))


# --- only what a test registers ------------------------------------------------------


def only_registered(registry: Any, *, reset: Callable[[], None] | None = None,
                    ) -> Iterator[Callable[[T], T]]:
    """Let one test run with only the definitions it registers: the shipped ones step
    aside meanwhile and come back after. `reset` runs after each swap, for a clock
    source that remembers which definitions it synced."""
    shipped = list(registry)
    for item in shipped:
        registry.remove(item.id)
    if reset:
        reset()

    def add(item: T) -> T:
        registry.add(item)
        return item

    yield add
    for item in list(registry):
        registry.remove(item.id)
    for item in shipped:
        registry.add(item)
    if reset:
        reset()


@pytest.fixture
def add_journey() -> Iterator[Callable[[Any], Any]]:
    """Register journeys for one test; the shipped ones step aside meanwhile."""
    from journeys.engine.registry import registry

    yield from only_registered(registry)


@pytest.fixture
def add_bucket() -> Iterator[Callable[[Any], Any]]:
    """Register buckets for one test; the shipped ones step aside meanwhile."""
    from buckets import due
    from buckets.registry import registry

    yield from only_registered(registry, reset=due.reset)

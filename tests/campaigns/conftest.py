"""Fixtures: a test runs with only the campaigns (and buckets) it registers, at a
frozen instant, with a few people who can be emailed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from campaigns.definition import CampaignDefinition
from campaigns.registry import registry
from contacts.identity import contact_upsert
from contacts.models import Contact
from hogsend_site.due import process_batch, run_due_once
from tests.conftest import only_registered

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    return NOW


@pytest.fixture
def add_campaign() -> Iterator[Callable[[CampaignDefinition], CampaignDefinition]]:
    """Register campaign definitions for one test; any shipped ones step aside."""
    yield from only_registered(registry)


@pytest.fixture
def people(db) -> list[Contact]:
    """Five people with addresses (p0..p4), in contact-id order."""
    made = [contact_upsert(user_id=f"p{n}", email=f"p{n}@example.com").contact
            for n in range(5)]
    return sorted(made, key=lambda contact: contact.pk)


@pytest.fixture
def beta_list(settings) -> str:
    """An opt-in list: only people who said yes are in it."""
    settings.EMAIL_LISTS = [{"id": "beta-news", "name": "Beta news", "default_opt_in": False}]
    return "beta-news"


def drain() -> int:
    """Run the clock inline until nothing is due at this (frozen) instant."""
    total = 0
    while claimed := run_due_once(timezone.now(), dispatch=process_batch):
        total += claimed
    return total


def one_pass() -> int:
    return run_due_once(timezone.now(), dispatch=process_batch)

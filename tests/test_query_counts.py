"""Statements per ingest and per resume, pinned: a batch costs the same handful
of queries however many events it carries, and a batch of resumed runs the
same handful however many runs it holds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from hogsend_site.due import process_batch, run_due_once
from tracking.ingest import EventInput, events_ingest
from tracking.mailer import DISPATCH_CHUNK

pytestmark = pytest.mark.django_db


def statements(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    # Savepoints exist only because each test runs inside a transaction.
    return sum(1 for q in captured.captured_queries if "SAVEPOINT" not in q["sql"])


def drain() -> None:
    while run_due_once(timezone.now(), dispatch=process_batch):
        pass


@pytest.fixture
def people(db) -> list[Contact]:
    return Contact.objects.bulk_create(
        [Contact(external_id=f"p{n}", email=f"p{n}@example.com") for n in range(100)])


@pytest.mark.parametrize("size", [10, 100])
def test_a_batch_of_plain_events_costs_a_fixed_handful_of_statements(people, size):
    batch = [EventInput(name="page.viewed", user_id=f"p{n}") for n in range(size)]
    assert statements(lambda: events_ingest(batch)) <= 6


@pytest.mark.parametrize("size", [10, 100])
def test_a_batch_of_triggers_enrols_with_a_fixed_handful_of_statements(people, size):
    batch = [EventInput(name="ticket.resolved", user_id=f"p{n}", properties={"ticket_id": n})
             for n in range(size)]
    # SQLite splits a bulk INSERT every ~50 rows; PostgreSQL never does.
    assert statements(lambda: events_ingest(batch)) <= 14


def test_new_people_in_a_batch_are_created_with_one_insert(db):
    batch = [EventInput(name="page.viewed", user_id=f"new{n}", email=f"new{n}@example.com")
             for n in range(50)]
    assert statements(lambda: events_ingest(batch)) <= 8
    assert Contact.objects.count() == 50


class DedupingProvider(LocmemBackend):
    """A provider that deduplicates on the send's key (as Resend does)."""

    idempotency_key_header = "Idempotency-Key"


@pytest.mark.parametrize("size", [10, 60])
@pytest.mark.parametrize(("backend", "per_run"), [
    (f"{__name__}.DedupingProvider", 0),
    # Without provider keys each send is marked sent on its own (in-doubt window).
    ("django.core.mail.backends.locmem.EmailBackend", 1),
])
def test_the_morning_resume_of_a_batch_of_support_runs_costs_a_fixed_handful(
        people, settings, size, backend, per_run):
    settings.EMAIL_BACKEND = backend
    with time_machine.travel(datetime(2026, 6, 16, 14, tzinfo=UTC), tick=False) as clock:
        events_ingest([EventInput(name="ticket.resolved", user_id=f"p{n}")
                       for n in range(size)])
        drain()
        clock.move_to(datetime(2026, 6, 17, 9, tzinfo=UTC))
        count = statements(drain)
    # The clock's claims; one load of runs, journals, preferences and the
    # journey's recent sends; one status read, one INSERT of the sends, one of
    # their links, one UPDATE marking them sent; one UPDATE registering the
    # waits, one scan; the journal, a locked read and one UPDATE parking the
    # runs; the timeline. However many runs the batch holds (SQLite splits a bulk
    # statement past 999 parameters; PostgreSQL never does), plus one status read
    # per DISPATCH_CHUNK messages (an exit landing while the batch sends).
    fixed = 28 if connection.vendor == "postgresql" else 38
    assert count <= fixed + per_run * size + math.ceil(size / DISPATCH_CHUNK)


@pytest.mark.parametrize("size", [10, 60])
def test_the_answers_resume_a_batch_with_a_fixed_handful_and_replay_the_send(people, size):
    with time_machine.travel(datetime(2026, 6, 16, 14, tzinfo=UTC), tick=False) as clock:
        events_ingest([EventInput(name="ticket.resolved", user_id=f"p{n}")
                       for n in range(size)])
        drain()
        clock.move_to(datetime(2026, 6, 17, 9, tzinfo=UTC))
        drain()
        clock.move_to(datetime(2026, 6, 17, 11, tzinfo=UTC))
        answers = [EventInput(name="support.followup_answered", user_id=f"p{n}",
                              properties={"answer": "yes"}) for n in range(size)]
        count = statements(lambda: (events_ingest(answers), drain()))
    # The ingest and its wake-up; then as above, with the send replayed from the
    # journal (no statement) and the runs completed instead of parked. (The bound
    # has a little slack for an extra clock pass; per-run work would add 60.)
    assert count <= (28 if connection.vendor == "postgresql" else 38)

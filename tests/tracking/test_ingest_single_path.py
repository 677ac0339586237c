"""A lone event's short road (one INSERT ... ON CONFLICT, a known person in one
SELECT) answers and writes exactly what the general path does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from tracking.ingest import EventInput, event_ingest, events_ingest
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db


def test_a_lone_duplicate_of_a_new_person_creates_no_contact():
    event_ingest(EventInput(name="a", user_id="u1", idempotency_key="k1"))
    again = event_ingest(EventInput(name="a", user_id="u2", email="u2@example.com",
                                    idempotency_key="k1"))
    assert (again.stored, again.contact, again.contact_key, again.exits) == (False, None, None, [])
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["u1"]
    assert UserEvent.objects.count() == 1


def test_a_lone_duplicate_does_not_touch_the_known_persons_last_seen(time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    event_ingest(EventInput(name="a", user_id="u1", idempotency_key="k1"))
    time_machine.shift(timedelta(minutes=5))
    assert event_ingest(EventInput(name="a", user_id="u1", idempotency_key="k1")).stored is False
    assert Contact.objects.get().last_seen_at == start


def test_a_known_person_is_seen_again_at_most_once_a_minute(time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    event_ingest(EventInput(name="a", user_id="u1"))
    time_machine.shift(timedelta(seconds=30))
    event_ingest(EventInput(name="a", user_id="u1"))
    assert Contact.objects.get().last_seen_at == start
    time_machine.shift(timedelta(seconds=31))
    result = event_ingest(EventInput(name="a", user_id="u1"))
    contact = Contact.objects.get()
    assert contact.last_seen_at == start + timedelta(seconds=61)
    assert result.contact.pk == contact.pk and result.contact_key == "u1"


def test_a_known_person_costs_no_savepoint_and_a_handful_of_statements():
    event_ingest(EventInput(name="a", user_id="u1", email="u1@example.com"))
    with CaptureQueriesContext(connection) as queries:
        result = event_ingest(EventInput(name="b", user_id="u1", email="U1@example.com ",
                                         idempotency_key="k2"))
    assert result.stored and result.contact_key == "u1"
    sql = [q["sql"] for q in queries.captured_queries]
    # Inside the test's transaction the ingest's own block is the one savepoint.
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1, sql
    statements = [s for s in sql if "SAVEPOINT" not in s]
    # The contact, the event (with its last_seen_at on PostgreSQL), the wake-ups.
    assert len(statements) == 3, statements


def test_a_known_person_due_to_be_seen_is_seen_with_the_event(time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    event_ingest(EventInput(name="a", user_id="u1"))
    time_machine.shift(timedelta(minutes=2))
    with CaptureQueriesContext(connection) as queries:
        event_ingest(EventInput(name="b", user_id="u1"))
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # On PostgreSQL the last_seen_at UPDATE rides in the event's INSERT statement.
    assert len(statements) == (3 if connection.vendor == "postgresql" else 4), statements
    assert Contact.objects.get().last_seen_at == start + timedelta(minutes=2)


def test_a_new_key_for_a_known_person_is_linked_as_before():
    event_ingest(EventInput(name="a", user_id="u1"))
    result = event_ingest(EventInput(name="b", user_id="u1", email="u1@example.com"))
    assert result.stored
    assert Contact.objects.get().email == "u1@example.com"


def test_new_contact_properties_of_a_known_person_are_merged_as_before():
    event_ingest(EventInput(name="a", user_id="u1", contact_properties={"plan": "free"}))
    event_ingest(EventInput(name="b", user_id="u1", contact_properties={"seats": 3}))
    assert Contact.objects.get().properties == {"plan": "free", "seats": 3}


def test_two_people_named_by_one_event_are_merged_as_before():
    event_ingest(EventInput(name="a", user_id="u1"))
    event_ingest(EventInput(name="a", email="other@example.com"))
    event_ingest(EventInput(name="b", user_id="u1", email="other@example.com"))
    assert Contact.objects.filter(deleted_at__isnull=True).count() == 1


def test_a_batch_stores_keyed_and_unkeyed_events_in_order_and_skips_stored_keys():
    event_ingest(EventInput(name="a", user_id="u1", idempotency_key="old"))
    results = events_ingest([
        EventInput(name="x0", user_id="u1"),
        EventInput(name="x1", user_id="u2", idempotency_key="old"),
        EventInput(name="x2", user_id="u3", idempotency_key="new"),
        EventInput(name="x3", user_id="u4"),
    ])
    assert [r.stored for r in results] == [True, False, True, True]
    assert [r.event.event if r.event else None for r in results] == ["x0", None, "x2", "x3"]
    for result in results:
        if result.event:
            assert UserEvent.objects.get(pk=result.event.pk).event == result.event.event


def test_a_key_stored_by_a_concurrent_request_after_the_batch_check_is_not_stored(
        monkeypatch):
    """The loser of the race is answered stored=False; the others are stored."""
    from tracking import ingest

    real = ingest._drop_duplicates

    def check_then_lose_the_race(results):
        kept = real(results)
        UserEvent.objects.create(event="other", user_key="z", idempotency_key="raced")
        return kept

    monkeypatch.setattr(ingest, "_drop_duplicates", check_then_lose_the_race)
    results = events_ingest([EventInput(name="a", user_id="u1", idempotency_key="raced"),
                             EventInput(name="b", user_id="u2", idempotency_key="free")])
    assert [r.stored for r in results] == [False, True]
    assert set(UserEvent.objects.values_list("idempotency_key", flat=True)) == {"raced", "free"}

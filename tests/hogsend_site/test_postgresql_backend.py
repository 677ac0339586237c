"""The PostgreSQL backend (hogsend_site/postgresql): a quiet connection passes its
per-request health check without a round trip, a dropped one is still replaced;
and the single-event ingest's statements are prepared once per connection."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import connection, connections

from tracking.ingest import EventInput, event_ingest

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def health_checks(monkeypatch):
    """Health checks on, as the settings enable them outside tests; counts the
    SELECT 1 round trips."""
    wrapper = connections["default"]
    wrapper.ensure_connection()
    monkeypatch.setattr(wrapper, "health_check_enabled", True)
    asked = []
    usable = type(wrapper).is_usable

    def counted():
        asked.append(1)
        return usable(wrapper)

    monkeypatch.setattr(wrapper, "is_usable", counted)
    return asked


def a_new_request() -> None:
    connection.health_check_done = False


def test_a_quiet_connection_is_healthy_without_a_select_1(health_checks):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    before = connection.connection
    a_new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
    assert health_checks == [] and connection.connection is before


def test_a_connection_the_server_dropped_is_replaced_before_the_request_uses_it(
        health_checks):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    dropped = connection.connection
    with psycopg.connect(**{**connection.get_connection_params(), "autocommit": True}) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's FATAL message and close reach the socket.
    select.select([dropped.pgconn.socket], [], [], 5)
    time.sleep(0.05)
    a_new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (new_pid,) = cursor.fetchone()
    assert health_checks == [1]
    assert connection.connection is not dropped and new_pid != pid


def test_the_lone_events_statements_are_prepared_once_per_connection(db):
    event_ingest(EventInput(name="a", user_id="u1"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        first = sorted(statement for (statement,) in cursor.fetchall())
    event_ingest(EventInput(name="b", user_id="u1"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        second = sorted(statement for (statement,) in cursor.fetchall())
    # The contact's read, the event's INSERT and the wake-up's locking read.
    assert any("FROM \"contacts_contact\"" in s for s in first)
    assert any(s.startswith("INSERT INTO \"tracking_userevent\"") for s in first)
    assert any("FOR NO KEY UPDATE" in s for s in first)
    assert second == first

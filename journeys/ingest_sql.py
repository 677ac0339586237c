"""The journeys' statements on the ingest path, written once as SQL.

Building a queryset costs about a millisecond of CPU, more than the database takes
to run these: a lone `POST /v1/events` spent a third of its CPU building its
wake-up read. Values go in through the model fields' `get_db_prep_value` and ids
come back through their converters, as with the ORM (tracking/ingest_sql.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection

from hogsend_site.prepared import prepared_cursor
from journeys.models import LIVE_STATUSES, JourneyRun


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def _run_ids(values: Iterable[Any]) -> list[Any]:
    """Run ids as the ORM reads them (UUIDs; SQLite stores them as hex text)."""
    field = JourneyRun._meta.pk
    col = field.get_col(JourneyRun._meta.db_table)
    converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
    out = []
    for value in values:
        for convert in converters:
            value = convert(value, col, connection)
        out.append(value)
    return out


def runs_wake(pairs: set[tuple[Any, str]], now: datetime) -> list[Any]:
    """Make the live runs waiting for these (contact id, event name) pairs due now,
    bumping their wake_seq (which tells a run executing right now that it was
    woken); returns their ids.

    On PostgreSQL one locking read, and an UPDATE only when it found a run to wake:
    it locks (FOR NO KEY UPDATE, in id order) every live run of these contacts that
    waits for one of the events, is executing (leased) or is due. Such a run may
    park on a wait for this event this instant, and a plain read would miss the
    parked row while the park's own scan misses this uncommitted event, so the
    wake-up would be lost. The park locks its row before it scans once more: with
    this lock, the park waits for this commit (and its scan sees the event), or
    this read waits for the park (and sees the run waiting); a due run's claim
    skips the locked row and takes it after this commit. SQLite writes one
    transaction at a time: one UPDATE.
    """
    contact = JourneyRun._meta.get_field("contact").target_field
    stamp = JourneyRun._meta.get_field("wake_at").get_db_prep_value(now, connection)
    contacts = {c: contact.get_db_prep_value(c, connection) for c, _ in pairs}
    if not connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(_sqlite_wake_sql(len(pairs)), [
                stamp, *(value for c, name in pairs for value in (contacts[c], name))])
            return _run_ids(row[0] for row in cursor.fetchall())
    names = sorted({name for _, name in pairs})
    # A lone event's read is prepared (one text per connection); a batch's is not.
    with (prepared_cursor() if len(pairs) == 1 else connection.cursor()) as cursor:
        cursor.execute(_locking_read_sql(len(contacts), len(names)),
                       [*contacts.values(), *names, stamp, stamp])
        found = cursor.fetchall()
        wanted = {(contacts[c], name) for c, name in pairs}
        ids = [pk for pk, contact_id, name in found if (contact_id, name) in wanted]
        if ids:
            cursor.execute(_bump_sql(len(ids)), [stamp, *ids])
    return _run_ids(ids)


def _where_live() -> str:
    live = ", ".join(f"'{status}'" for status in LIVE_STATUSES)  # constants, not input
    return f"{_qn('status')} IN ({live})"


@lru_cache(maxsize=16)  # a lone event's shape, and a few batch shapes
def _locking_read_sql(contacts: int, names: int) -> str:
    pk = _qn("id")
    return (f"SELECT {pk}, {_qn('contact_id')}, {_qn('waiting_event')} "
            f"FROM {_qn(JourneyRun._meta.db_table)} WHERE {_where_live()} "
            f"AND {_qn('contact_id')} IN ({_marks(contacts)}) "
            f"AND ({_qn('waiting_event')} IN ({_marks(names)}) "
            f"OR {_qn('claimed_until')} > %s OR {_qn('wake_at')} <= %s) "
            f"ORDER BY {pk} FOR NO KEY UPDATE")


def _bump_sql(count: int) -> str:
    return (f"UPDATE {_qn(JourneyRun._meta.db_table)} SET {_qn('wake_at')} = %s, "
            f"{_qn('wake_seq')} = {_qn('wake_seq')} + 1 WHERE {_qn('id')} IN "
            f"({_marks(count)})")


@lru_cache(maxsize=16)
def _sqlite_wake_sql(pairs: int) -> str:
    return (f"UPDATE {_qn(JourneyRun._meta.db_table)} SET {_qn('wake_at')} = %s, "
            f"{_qn('wake_seq')} = {_qn('wake_seq')} + 1 WHERE {_where_live()} AND "
            f"({_qn('contact_id')}, {_qn('waiting_event')}) IN "
            f"({', '.join(['(%s, %s)'] * pairs)}) RETURNING {_qn('id')}")

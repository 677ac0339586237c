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
    woken); returns their ids. One statement.

    On PostgreSQL it first locks (FOR NO KEY UPDATE, in id order) every live run of
    these contacts that waits for one of the events, is executing (leased) or is
    due: such a run may register its wait this instant, and a plain read would miss
    the registration while the run's event scan misses this uncommitted event, so
    the wake-up would be lost. With the lock, the claim or registration waits for
    this commit (and its scan then sees the event), or this statement waits for the
    registration (and sees it). SQLite writes one transaction at a time.
    """
    contact = JourneyRun._meta.get_field("contact").target_field
    stamp = JourneyRun._meta.get_field("wake_at").get_db_prep_value(now, connection)
    contacts = {c: contact.get_db_prep_value(c, connection) for c, _ in pairs}
    names = sorted({name for _, name in pairs})
    matched = [value for c, name in pairs for value in (contacts[c], name)]
    if connection.features.has_select_for_update:
        params = [*contacts.values(), *names, stamp, stamp, stamp, *matched]
    else:
        params = [stamp, *matched]
    sql = _wake_sql(len(contacts), len(names), len(pairs), connection.vendor,
                    connection.features.has_select_for_update)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _run_ids(row[0] for row in cursor.fetchall())


@lru_cache(maxsize=64)  # a lone event's shape, and a few batch shapes
def _wake_sql(contacts: int, names: int, pairs: int, vendor: str, lock: bool) -> str:
    table, pk = _qn(JourneyRun._meta.db_table), _qn("id")
    live = ", ".join(f"'{status}'" for status in LIVE_STATUSES)  # constants, not input
    wanted = ", ".join(["(%s, %s)"] * pairs)
    if not lock:
        return (f"UPDATE {table} SET {_qn('wake_at')} = %s, {_qn('wake_seq')} = "
                f"{_qn('wake_seq')} + 1 WHERE {_qn('status')} IN ({live}) AND "
                f"({_qn('contact_id')}, {_qn('waiting_event')}) IN ({wanted}) "
                f"RETURNING {pk}")
    return (
        f"WITH locked AS (SELECT {pk}, {_qn('contact_id')}, {_qn('waiting_event')} "
        f"FROM {table} WHERE {_qn('status')} IN ({live}) "
        f"AND {_qn('contact_id')} IN ({_marks(contacts)}) "
        f"AND ({_qn('waiting_event')} IN ({_marks(names)}) "
        f"OR {_qn('claimed_until')} > %s OR {_qn('wake_at')} <= %s) "
        f"ORDER BY {pk} FOR NO KEY UPDATE) "
        f"UPDATE {table} SET {_qn('wake_at')} = %s, "
        f"{_qn('wake_seq')} = {table}.{_qn('wake_seq')} + 1 FROM locked "
        f"WHERE {table}.{pk} = locked.{pk} AND (locked.{_qn('contact_id')}, "
        f"locked.{_qn('waiting_event')}) IN ({wanted}) RETURNING {table}.{pk}")

"""The ingest's own statements, written once as SQL instead of built by the ORM.

Building and compiling a queryset costs about a millisecond of CPU per statement,
more than the database takes to run these: the single-event API path spends its
budget here. Values are adapted and read back through the model fields (their
`get_db_prep_save` and database converters), so rows look exactly as the ORM's.
Each statement's text is built once per shape and database vendor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from django.db import connection
from django.db.models import Model

from contacts.models import Contact
from hogsend_site.prepared import prepared_cursor
from tracking.models import UserEvent

# Every column ingest writes, in the INSERT's order (`id` comes back from it).
EVENT_FIELDS = ("contact", "user_key", "event", "properties", "groups", "source",
                "idempotency_key", "value", "currency", "occurred_at", "created_at")


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _columns(model: type[Model], vendor: str) -> tuple[tuple[str, ...], tuple[str, ...],
                                                         tuple[Any, ...]]:
    """Column names (quoted), attnames and each column's converters, as the compiler
    finds them."""
    fields = model._meta.concrete_fields
    converters = []
    for field in fields:
        col = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        converters.append((col, tuple(found)))
    return (tuple(_qn(f.column) for f in fields), tuple(f.attname for f in fields),
            tuple(converters))


def _model(model: type[Model], row: Sequence[Any]) -> Any:
    """One row (the model's concrete columns in order) as a model instance."""
    _, names, converters = _columns(model, connection.vendor)
    values = list(row)
    for i, (col, convs) in enumerate(converters):
        for convert in convs:
            values[i] = convert(values[i], col, connection)
    return model.from_db(connection.alias, names, values)


@cache
def _key_condition(kind: str, vendor: str) -> str:
    """How identity resolution matches a key: the email lower-cased against LOWER(email)."""
    column = _qn(kind)
    if kind == "email":
        return f"(LOWER({column}) = %s AND {column} IS NOT NULL)"
    return f"{column} = %s"


@cache
def _holding_sql(kinds: tuple[str, ...], vendor: str) -> str:
    columns = _columns(Contact, vendor)[0]
    table = _qn(Contact._meta.db_table)
    wanted = " OR ".join(_key_condition(kind, vendor) for kind in kinds)
    return (f"SELECT {', '.join(f'{table}.{c}' for c in columns)} FROM {table} "
            f"WHERE {_qn('deleted_at')} IS NULL AND ({wanted})")


def live_contacts_holding(keys: dict[str, str]) -> list[Contact]:
    """Live contacts holding any of these identity keys themselves (not as aliases),
    as identity resolution matches them."""
    with prepared_cursor() as cursor:
        cursor.execute(_holding_sql(tuple(keys), connection.vendor), list(keys.values()))
        return [_model(Contact, row) for row in cursor.fetchall()]


@cache
def _seen_sql(vendor: str) -> str:
    return (f"UPDATE {_qn(Contact._meta.db_table)} SET {_qn('last_seen_at')} = %s, "
            f"{_qn('updated_at')} = %s WHERE {_qn('id')} = %s")


def contact_seen(contact: Contact, now: datetime) -> None:
    """Set last_seen_at (and updated_at) of one contact: a single UPDATE, no savepoint
    (no constraint covers these columns, so it cannot fail as a key would)."""
    field = Contact._meta.get_field("last_seen_at")
    stamp = field.get_db_prep_save(now, connection)
    pk = Contact._meta.pk.get_db_prep_save(contact.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_seen_sql(connection.vendor), [stamp, stamp, pk])
    contact.last_seen_at = now


def _event_params(row: UserEvent, fields: Sequence[Any]) -> list[Any]:
    return [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]


def events_insert(rows: list[UserEvent], *, seen: Sequence[Contact] = (),
                  now: datetime | None = None) -> list[bool]:
    """INSERT the rows, skipping any whose idempotency key is already stored, in one
    statement per batch (no savepoint: ON CONFLICT answers the race). Sets the pk of
    each row written; returns which were.

    `seen` contacts get last_seen_at `now`: on PostgreSQL in the same statement as
    the rows (a WITH ... UPDATE before the INSERT), elsewhere in one UPDATE first.
    """
    fields = [UserEvent._meta.get_field(name) for name in EVENT_FIELDS]
    size = max(1, connection.ops.bulk_batch_size(fields, rows) or len(rows))
    written: list[bool] = []
    for start in range(0, len(rows), size):
        written.extend(_insert_chunk(rows[start:start + size], fields, seen, now))
        seen = ()
    return written


@lru_cache(maxsize=32)  # the lone event's, a full batch's and its last chunk's
def _insert_sql(count: int, seen: int, vendor: str) -> str:
    fields = [UserEvent._meta.get_field(name) for name in EVENT_FIELDS]
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    insert = (f"INSERT INTO {_qn(UserEvent._meta.db_table)} "
              f"({', '.join(_qn(f.column) for f in fields)}) VALUES "
              f"{', '.join([placeholders] * count)} "
              f"ON CONFLICT ({_qn('idempotency_key')}) DO NOTHING "
              f"RETURNING {_qn('id')}, {_qn('idempotency_key')}")
    if not seen:
        return insert
    return (f"WITH seen AS (UPDATE {_qn(Contact._meta.db_table)} SET "
            f"{_qn('last_seen_at')} = %s, {_qn('updated_at')} = %s WHERE {_qn('id')} IN "
            f"({', '.join(['%s'] * seen)})) {insert}")


def _insert_chunk(rows: list[UserEvent], fields: list[Any], seen: Sequence[Contact],
                  now: datetime | None) -> list[bool]:
    params = [value for row in rows for value in _event_params(row, fields)]
    fold = bool(seen) and connection.vendor == "postgresql"  # SQLite: no UPDATE in WITH
    if seen and not fold:
        for contact in seen:
            contact_seen(contact, now)
    elif fold:
        stamp = Contact._meta.get_field("last_seen_at").get_db_prep_save(now, connection)
        params[:0] = [stamp, stamp, *(Contact._meta.pk.get_db_prep_save(c.pk, connection)
                                      for c in seen)]
    # A lone event's INSERT is prepared (one text per connection); a batch's is not.
    with (prepared_cursor() if len(rows) == 1 else connection.cursor()) as cursor:
        cursor.execute(_insert_sql(len(rows), len(seen) if fold else 0, connection.vendor),
                       params)
        returned = cursor.fetchall()
    if fold:
        for contact in seen:
            contact.last_seen_at = now
    # Ids rise in VALUES order; RETURNING's own order is not promised (SQLite), so
    # match by key, and the rows without one by that order.
    inserted_keys = {key for _, key in returned if key is not None}
    ids = iter(sorted(pk for pk, _ in returned))
    written = []
    for row in rows:
        ok = row.idempotency_key is None or row.idempotency_key in inserted_keys
        if ok:
            row.pk = next(ids)
            row._state.adding, row._state.db = False, connection.alias
        written.append(ok)
    return written


@cache
def _insert_arrays_sql(vendor: str) -> str:
    fields = [UserEvent._meta.get_field(name) for name in EVENT_FIELDS]
    casts = ("uuid[]", "text[]", "text[]", "jsonb[]", "jsonb[]", "text[]", "text[]",
             "numeric[]", "text[]", "timestamptz[]", "timestamptz[]")
    columns = ", ".join(_qn(f.column) for f in fields)
    return (f"INSERT INTO {_qn(UserEvent._meta.db_table)} ({columns}) "
            f"SELECT * FROM unnest({', '.join(f'%s::{cast}' for cast in casts)}) "
            f"ON CONFLICT ({_qn('idempotency_key')}) DO NOTHING "
            f"RETURNING {_qn('id')}, {_qn('idempotency_key')}")


def keyed_events_insert(rows: list[UserEvent]) -> list[bool]:
    """`events_insert` for rows that all carry an idempotency key (the engine's own
    events): on PostgreSQL one column array per field (`unnest`), a statement
    whose text never changes, instead of a placeholder per value that psycopg
    splits and quotes one by one. Sets the pk of each row written; returns which
    were (a key already stored is not written)."""
    if connection.vendor != "postgresql":
        return events_insert(rows)
    fields = [UserEvent._meta.get_field(name) for name in EVENT_FIELDS]
    json_fields = {"properties", "groups"}
    columns = []
    for f in fields:
        values = [getattr(row, f.attname) for row in rows]
        if f.name in json_fields:
            values = [json.dumps(value, cls=f.encoder) for value in values]
        elif f.name == "contact":
            values = [None if value is None else str(value) for value in values]
        columns.append(values)
    with connection.cursor() as cursor:
        cursor.execute(_insert_arrays_sql(connection.vendor), columns)
        ids = {key: pk for pk, key in cursor.fetchall()}
    written = []
    for row in rows:
        pk = ids.get(row.idempotency_key)
        if pk is not None:
            row.pk = pk
            row._state.adding, row._state.db = False, connection.alias
        written.append(pk is not None)
    return written

"""The ingest's own statements, written once as SQL instead of built by the ORM.

Building and compiling a queryset costs about a millisecond of CPU per statement,
more than the database takes to run these: the single-event API path spends its
budget here. Values are adapted and read back through the model fields (their
`get_db_prep_save` and database converters), so rows look exactly as the ORM's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from contacts.models import Contact
from tracking.models import UserEvent

# Every column ingest writes, in the INSERT's order (`id` comes back from it).
EVENT_FIELDS = ("contact", "user_key", "event", "properties", "groups", "source",
                "idempotency_key", "value", "currency", "occurred_at", "created_at")


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _columns(model: type[Model], vendor: str) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    """SELECT list, attnames and each column's converters, as the compiler finds them."""
    fields = model._meta.concrete_fields
    converters = []
    for field in fields:
        col = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        converters.append((col, tuple(found)))
    select = ", ".join(f"{_qn(model._meta.db_table)}.{_qn(f.column)}" for f in fields)
    return select, tuple(f.attname for f in fields), tuple(converters)


def _models(model: type[Model], sql_where: str, params: Sequence[Any]) -> list[Any]:
    select, names, converters = _columns(model, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {_qn(model._meta.db_table)} WHERE {sql_where}",
                       params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        values = list(row)
        for i, (col, convs) in enumerate(converters):
            for convert in convs:
                values[i] = convert(values[i], col, connection)
        out.append(model.from_db(connection.alias, names, values))
    return out


def live_contacts_holding(keys: dict[str, str]) -> list[Contact]:
    """Live contacts holding any of these identity keys themselves (not as aliases),
    as `contacts.identity` matches them: the email lower-cased against LOWER(email)."""
    conditions, params = [], []
    for kind, value in keys.items():
        if kind == "email":
            conditions.append(f"(LOWER({_qn('email')}) = %s AND {_qn('email')} IS NOT NULL)")
        else:
            conditions.append(f"{_qn(kind)} = %s")
        params.append(value)
    where = f"{_qn('deleted_at')} IS NULL AND ({' OR '.join(conditions)})"
    return _models(Contact, where, params)


def contact_seen(contact: Contact, now: datetime) -> None:
    """Set last_seen_at (and updated_at) of one contact: a single UPDATE, no savepoint
    (no constraint covers these columns, so it cannot fail as a key would)."""
    field = Contact._meta.get_field("last_seen_at")
    stamp = field.get_db_prep_save(now, connection)
    pk = Contact._meta.pk.get_db_prep_save(contact.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_qn(Contact._meta.db_table)} SET {_qn('last_seen_at')} = %s, "
            f"{_qn('updated_at')} = %s WHERE {_qn('id')} = %s", [stamp, stamp, pk])
    contact.last_seen_at = now


def events_insert(rows: list[UserEvent]) -> list[bool]:
    """INSERT the rows, skipping any whose idempotency key is already stored, in one
    statement per batch (no savepoint: ON CONFLICT answers the race). Sets the pk of
    each row written; returns which were."""
    fields = [UserEvent._meta.get_field(name) for name in EVENT_FIELDS]
    size = max(1, connection.ops.bulk_batch_size(fields, rows) or len(rows))
    written: list[bool] = []
    for start in range(0, len(rows), size):
        written.extend(_insert_chunk(rows[start:start + size], fields))
    return written


def _insert_chunk(rows: list[UserEvent], fields: list[Any]) -> list[bool]:
    columns = ", ".join(_qn(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [f.get_db_prep_save(getattr(row, f.attname), connection)
              for row in rows for f in fields]
    sql = (f"INSERT INTO {_qn(UserEvent._meta.db_table)} ({columns}) VALUES "
           f"{', '.join([placeholders] * len(rows))} "
           f"ON CONFLICT ({_qn('idempotency_key')}) DO NOTHING "
           f"RETURNING {_qn('id')}, {_qn('idempotency_key')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
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


"""The evaluation's two reads, written once as SQL instead of built by the ORM.

Every ingest batch runs them: the facts of the people it evaluates (properties
and one aggregate per event statistic the criteria need) and the state of the
(bucket, person) pairs it looks at (membership rows and due checks). Building the
facts queryset cost more CPU than the database took to answer it (about 7 ms
for one person with 12 statistics), and on PostgreSQL hundreds of ids travel
as one array parameter (`= ANY(%s)`) instead of one placeholder each, which
the driver parses and quotes one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, Model

from buckets.criteria import StatNeed
from buckets.models import BucketCheck, BucketMembership
from contacts.models import Contact
from tracking.models import UserEvent


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _ids_condition(column: str, keys: Sequence[str]) -> tuple[str, list[Any]]:
    """`column` (a uuid) is one of these contact keys (see `contact_keys`)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::uuid[])", [list(keys)]
    return f"{column} IN ({', '.join(['%s'] * len(keys))})", list(keys)


@cache
def _facts_select(shape: tuple[tuple[str, bool], ...], properties: bool, vendor: str) -> str:
    """SELECT ... FROM contacts for one shape of needs: (kind, windowed) per need."""
    event, contact = _qn(UserEvent._meta.db_table), _qn(Contact._meta.db_table)
    columns = [f"c.{_qn('id')}", f"c.{_qn('external_id')}", f"c.{_qn('anonymous_id')}",
               f"c.{_qn('deleted_at')} IS NOT NULL",
               f"c.{_qn('properties')}" if properties else "NULL"]
    for kind, windowed in shape:
        # Each statistic is a correlated subquery the (contact, event, occurred_at)
        # index answers per person: a latest occurrence is one probe.
        where = f"e.{_qn('contact_id')} = c.{_qn('id')} AND e.{_qn('event')} = %s"
        if windowed:
            where += f" AND e.{_qn('occurred_at')} > %s"
        if kind in ("last", "first"):
            function = "MAX" if kind == "last" else "MIN"
            # Read as text: `parse_instant` is several times faster than the driver.
            columns.append(f"CAST((SELECT {function}(e.{_qn('occurred_at')}) FROM {event} e "
                           f"WHERE {where}) AS text)")
        else:
            columns.append(f"COALESCE((SELECT COUNT(e.{_qn('id')}) FROM {event} e "
                           f"WHERE {where}), 0)")
    return f"SELECT {', '.join(columns)} FROM {contact} c"


def facts_rows(*, contact_ids: Sequence[Any], needs: Sequence[StatNeed], now: datetime,
               properties: bool) -> list[tuple[Any, ...]]:
    """One row per contact found: (id, external_id, anonymous_id, deleted,
    properties or None, one value per need in `needs`' order)."""
    if not contact_ids:
        return []
    occurred = UserEvent._meta.get_field("occurred_at")
    params: list[Any] = []
    for need in needs:
        params.append(need.event)
        if need.within is not None:
            cutoff = now - timedelta(seconds=need.within)
            params.append(occurred.get_db_prep_value(cutoff, connection))
    shape = tuple((need.kind, need.within is not None) for need in needs)
    pk = Contact._meta.pk
    condition, id_params = _ids_condition(f"c.{_qn('id')}", list(contact_keys(contact_ids)))
    sql = f"{_facts_select(shape, properties, connection.vendor)} WHERE {condition}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *id_params])
        rows = cursor.fetchall()
    if connection.vendor == "postgresql" and not properties:
        return rows
    field = Contact._meta.get_field("properties")
    converted = []
    for row in rows:
        contact_id = row[0] if connection.vendor == "postgresql" else pk.to_python(row[0])
        props = field.from_db_value(row[4], None, connection) if properties else None
        converted.append((contact_id, row[1], row[2], bool(row[3]), props, *row[5:]))
    return converted


def contact_keys(contact_ids: Iterable[Any]) -> dict[str, Any]:
    """Each contact id by its text as the database spells it (what `CAST(contact_id
    AS text)` returns): rows come back keyed by that text, cheaper to read than
    the driver's UUID objects."""
    pk = Contact._meta.pk
    return {str(pk.get_db_prep_value(contact_id, connection)): contact_id
            for contact_id in contact_ids}


# Each group is (bucket ids, contact keys): the pairs it names are every bucket of
# it with every person of it. Grouping people by the buckets asked of them (a
# batch has a handful of such sets) reads the pairs asked for, not every pair
# of all the buckets and all the people.
Groups = Sequence[tuple[Sequence[str], Sequence[str]]]


def membership_rows(groups: Groups) -> list[tuple[Any, ...]]:
    """The membership rows of the groups' pairs: (contact key, bucket id, id,
    status, entry_count, max_dwell_at as text, held_out, source)."""
    return _rows(BucketMembership, ("id", "status", "entry_count", "max_dwell_at", "held_out",
                                    "source"), groups)


def check_rows(groups: Groups) -> list[tuple[Any, ...]]:
    """The due checks of the groups' pairs: (contact key, bucket id, due_at as text)."""
    return _rows(BucketCheck, ("due_at",), groups)


def _rows(model: type[Model], fields: tuple[str, ...], groups: Groups) -> list[tuple[Any, ...]]:
    groups = [(buckets, keys) for buckets, keys in groups if buckets and keys]
    if not groups:
        return []
    columns = [f"CAST({_qn('contact_id')} AS text)", _qn("bucket_id")]
    for name in fields:
        instant = isinstance(model._meta.get_field(name), DateTimeField)
        columns.append(f"CAST({_qn(name)} AS text)" if instant else _qn(name))
    conditions, params = [], []
    for bucket_ids, keys in groups:
        condition, group_params = _ids_condition(_qn("contact_id"), keys)
        if connection.vendor == "postgresql":
            condition += f" AND {_qn('bucket_id')} = ANY(%s)"
            group_params.append(list(bucket_ids))
        else:
            condition += f" AND {_qn('bucket_id')} IN ({', '.join(['%s'] * len(bucket_ids))})"
            group_params += bucket_ids
        conditions.append(f"({condition})")
        params += group_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {_qn(model._meta.db_table)} "
                       f"WHERE {' OR '.join(conditions)}", params)
        return cursor.fetchall()


# --- The evaluation's writes on PostgreSQL ---------------------------------------------
# Each goes out as one statement of column arrays (`unnest`), whose text never
# changes: the ORM's bulk statements cost psycopg a placeholder per value to split
# and quote in Python, and an INSERT that may meet a taken key a savepoint.


@cache
def _memberships_insert_sql() -> str:
    return (f"INSERT INTO {_qn(BucketMembership._meta.db_table)} "
            f"({_qn('contact_id')}, {_qn('bucket_id')}, {_qn('snapshot')}, "
            f"{_qn('max_dwell_at')}, {_qn('status')}, {_qn('entered_at')}, "
            f"{_qn('entry_count')}, {_qn('source')}, {_qn('leave_reason')}, "
            f"{_qn('held_out')}, {_qn('created_at')}, {_qn('updated_at')}) "
            "SELECT v.contact_id, v.bucket_id, v.snapshot, v.max_dwell_at, "
            "%s, %s, 1, %s, '', false, %s, %s "
            "FROM unnest(%s::uuid[], %s::text[], %s::jsonb[], %s::timestamptz[]) "
            "AS v(contact_id, bucket_id, snapshot, max_dwell_at) "
            f"ON CONFLICT ({_qn('contact_id')}, {_qn('bucket_id')}) DO NOTHING "
            f"RETURNING {_qn('id')}, CAST({_qn('contact_id')} AS text), {_qn('bucket_id')}")


def memberships_insert(rows: Sequence[BucketMembership], *, status: str, source: str,
                       now: datetime) -> list[bool]:
    """INSERT first entries (PostgreSQL): new rows of `status` entered by `source`
    at `now` (once, with no leave), each with its own snapshot and max_dwell_at.
    A pair a concurrent evaluation wrote first is skipped (ON CONFLICT), not an
    error. Sets the pk of each row written; returns which were."""
    snapshot = BucketMembership._meta.get_field("snapshot")
    params = [status, now, source, now, now,
              [str(row.contact_id) for row in rows], [row.bucket_id for row in rows],
              [json.dumps(row.snapshot, cls=snapshot.encoder) for row in rows],
              [row.max_dwell_at for row in rows]]
    with connection.cursor() as cursor:
        cursor.execute(_memberships_insert_sql(), params)
        ids = {(contact, bucket_id): pk for pk, contact, bucket_id in cursor.fetchall()}
    written = []
    for row in rows:
        pk = ids.get((str(row.contact_id), row.bucket_id))
        if pk is not None:
            row.pk = pk
            row._state.adding, row._state.db = False, connection.alias
        written.append(pk is not None)
    return written


@cache
def _checks_upsert_sql() -> str:
    return (f"INSERT INTO {_qn(BucketCheck._meta.db_table)} "
            f"({_qn('contact_id')}, {_qn('bucket_id')}, {_qn('due_at')}, "
            f"{_qn('claimed_until')}) "
            "SELECT v.contact_id, v.bucket_id, v.due_at, NULL "
            "FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[]) "
            "AS v(contact_id, bucket_id, due_at) "
            f"ON CONFLICT ({_qn('bucket_id')}, {_qn('contact_id')}) DO UPDATE SET "
            f"{_qn('due_at')} = EXCLUDED.{_qn('due_at')}, {_qn('claimed_until')} = NULL")


def checks_upsert(schedule: dict[tuple[Any, str], datetime]) -> None:
    """Write each (contact id, bucket id) pair's next check (PostgreSQL): a pair's
    existing check is moved to the new instant and unclaimed."""
    contacts, buckets, dues = [], [], []
    for (contact_id, bucket_id), due in schedule.items():
        contacts.append(str(contact_id))
        buckets.append(bucket_id)
        dues.append(due)
    with connection.cursor() as cursor:
        cursor.execute(_checks_upsert_sql(), [contacts, buckets, dues])

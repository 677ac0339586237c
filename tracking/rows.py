"""`rows_insert`: a batch's new rows in one statement, cheap in Python on PostgreSQL.

`bulk_create` on PostgreSQL prepares every value of every row through its field
and then, with Django's default client-side binding, has psycopg parse the
statement and quote each value into the SQL text in Python. For a wave's batch
of sends (a hundred rows carrying their rendered HTML, and their tracked links)
that was most of the batch's database CPU. Here the rows go out as one `COPY
... FROM STDIN`, formatted by psycopg's C implementation; only JSON columns pass
through their field.

The COPY goes through Django's cursor wrapper, so it is counted and logged like
any other statement, and its errors arrive as Django's (`IntegrityError` on a
taken idempotency key, rolling back the enclosing atomic block). Other
databases use `bulk_create`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connections, models, router
from django.db.models.fields import AutoFieldMixin


def rows_insert(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """INSERT `rows` (unsaved, with their primary keys: no auto ids) in one statement."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows)
        return
    columns, attnames, prepared, stamped = _layout(model)
    table = connection.ops.quote_name(model._meta.db_table)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with (connection.cursor() as cursor, connection.wrap_database_errors,
          cursor.copy(statement) as copy):
        for row in rows:
            copy.write_row(_values(row, attnames, prepared, stamped, connection))


def _values(row: models.Model, attnames: list[str], prepared: dict[str, models.Field],
            stamped: list[models.Field], connection: Any) -> list[Any]:
    for field in stamped:
        setattr(row, field.attname, field.pre_save(row, True))  # as bulk_create does
    values = []
    for name in attnames:
        value = getattr(row, name)
        if name in prepared:
            value = prepared[name].get_db_prep_save(value, connection)
        elif type(value) is not str and isinstance(value, str):
            value = str(value)  # a TextChoices member: its value
        values.append(value)
    return values


@cache
def _layout(model: type[models.Model]) -> tuple[list[str], list[str], dict[str, models.Field],
                                                 list[models.Field]]:
    """(quoted columns, attnames, fields whose value needs preparing, auto-stamped fields)."""
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    if any(isinstance(f, AutoFieldMixin) for f in fields):
        raise TypeError(f"{model.__name__}: rows_insert needs primary keys set by the caller")
    quote = connections[router.db_for_write(model)].ops.quote_name
    prepared = {f.attname: f for f in fields if isinstance(f, models.JSONField)}
    stamped = [f for f in fields if getattr(f, "auto_now", False)
               or getattr(f, "auto_now_add", False)]
    return [quote(f.column) for f in fields], [f.attname for f in fields], prepared, stamped

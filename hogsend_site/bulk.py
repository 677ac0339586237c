"""`bulk_set`: one UPDATE giving each row its own values.

Django's `bulk_update` does the same with a Case/When expression per row and
field; resolving those costs more Python than the statement saves when the
engine parks a batch of 100 runs. This writes the same portable SQL directly,

    UPDATE t SET f = CASE pk WHEN %s THEN %s ... END, g = %s WHERE pk IN (...)

with every value prepared by its field for the connection (a field whose value
is the same on every row is set once), and the CASE cast to the column's type
where the backend needs it (PostgreSQL), as `bulk_update` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router


def bulk_set(model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write `fields` of `rows` (their current attribute values) in one statement."""
    if not rows or not fields:
        return 0
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    keys = [pk.get_db_prep_value(row.pk, connection) for row in rows]
    assignments: list[str] = []
    params: list[Any] = []
    for name in fields:
        field = model._meta.get_field(name)
        values = [field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows]
        column = quote(field.column)
        if all(value == values[0] for value in values):
            assignments.append(f"{column} = %s")
            params.append(values[0])
            continue
        case = f"CASE {quote(pk.column)} {' '.join(['WHEN %s THEN %s'] * len(rows))} END"
        if connection.features.requires_casted_case_in_updates:
            case = f"CAST({case} AS {field.cast_db_type(connection)})"
        assignments.append(f"{column} = {case}")
        for key, value in zip(keys, values, strict=True):
            params += [key, value]
    placeholders = ", ".join(["%s"] * len(keys))
    sql = (f"UPDATE {quote(model._meta.db_table)} SET {', '.join(assignments)} "
           f"WHERE {quote(pk.column)} IN ({placeholders})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *keys])
        return cursor.rowcount

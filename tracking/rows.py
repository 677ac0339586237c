"""`rows_insert`: a batch's new rows in one statement, cheap in Python on PostgreSQL.

`bulk_create` on PostgreSQL prepares every value of every row through its field
and then, with Django's default client-side binding, has psycopg parse the
statement and quote each value into the SQL text in Python. For a wave's batch
of sends (a hundred rows carrying their rendered HTML, and their tracked links)
that was most of the batch's database CPU. Here the rows go out as one `COPY
... FROM STDIN`, formatted by psycopg's C implementation; only JSON columns pass
through their encoder.

A send's rows are built as plain values, not model instances (`SendRow`,
`LinkRow`): a wave builds thousands, and a model instance costs as much to
make as the rest of the row's Python. `rows_insert` takes either; a column a
plain row does not carry takes its field's default (one instant per statement
for the timestamps). Elsewhere than on PostgreSQL plain rows become model
instances for `bulk_create`.

The COPY goes through Django's cursor wrapper, so it is counted and logged like
any other statement, and its errors arrive as Django's (`IntegrityError` on a
taken idempotency key, rolling back the enclosing atomic block). `uuid_array`
and `text_array` give a list as one array parameter (`= ANY(%s::uuid[])`,
`unnest(...)`), where an IN list or a CASE would cost psycopg one placeholder
per value to split and quote.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections, models, router
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone


@dataclass(slots=True, eq=False)
class SendRow:
    """An `EmailSend` about to be written: the columns a send sets (see rows_insert)."""

    to_email: str
    template_key: str
    category: str
    from_email: str
    subject: str
    created_at: datetime
    status: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    journey_run_id: uuid.UUID | None = None
    journey_id: str = ""
    contact_id: Any = None
    user_key: str = ""
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    html: str = ""
    text: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = None
    error: str = ""
    reason: str = ""
    message_id: str = ""
    sent_at: datetime | None = None

    @property
    def pk(self) -> uuid.UUID:
        return self.id


@dataclass(slots=True, eq=False)
class LinkRow:
    """A `TrackedLink` about to be written (see rows_insert)."""

    id: uuid.UUID
    email_send_id: Any
    original_url: str
    event: str = ""
    event_properties: dict[str, Any] = field(default_factory=dict)

    @property
    def pk(self) -> uuid.UUID:
        return self.id


def rows_insert(model: type[models.Model], rows: Sequence[Any]) -> None:
    """INSERT `rows` (unsaved model instances or plain rows) in one statement.
    A model's auto id is left to the database: on PostgreSQL no id comes back."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([_instance(model, row) for row in rows])
        return
    layout = _layout(model)
    table = connection.ops.quote_name(model._meta.db_table)
    statement = f"COPY {table} ({', '.join(layout.columns)}) FROM STDIN"
    defaults: list[Any] | None = None
    with (connection.cursor() as cursor, connection.wrap_database_errors,
          cursor.copy(statement) as copy):
        for row in rows:
            if isinstance(row, models.Model):
                copy.write_row(_model_values(row, layout, connection))
                continue
            if defaults is None:
                defaults = _defaults(layout)
            copy.write_row(_plain_values(row, layout, defaults))


def uuid_array(ids: Iterable[Any]) -> str:
    """Ids as one PostgreSQL `uuid[]` literal, for `= ANY(%s::uuid[])`."""
    return "{" + ",".join(str(uuid.UUID(str(pk))) for pk in ids) + "}"


def text_array(values: Iterable[str]) -> str:
    """Strings as one PostgreSQL `text[]` literal (each quoted, so any text is safe)."""
    return "{" + ",".join(
        '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


def _instance(model: type[models.Model], row: Any) -> models.Model:
    if isinstance(row, models.Model):
        return row
    return model(**{f.name: getattr(row, f.name) for f in dataclasses.fields(row)})


@dataclass(frozen=True)
class _Layout:
    columns: list[str]  # quoted
    fields: list[models.Field]
    attnames: list[str]
    json: list[tuple[int, Any]]  # (position, encoder) of the JSON columns
    stamped: list[models.Field]  # auto_now / auto_now_add


def _model_values(row: models.Model, layout: _Layout, connection: Any) -> list[Any]:
    for f in layout.stamped:
        setattr(row, f.attname, f.pre_save(row, True))  # as bulk_create does
    values = []
    for f, name in zip(layout.fields, layout.attnames, strict=True):
        value = getattr(row, name)
        if isinstance(f, models.JSONField):
            value = f.get_db_prep_save(value, connection)
        elif type(value) is not str and isinstance(value, str):
            value = str(value)  # a TextChoices member: its value
        values.append(value)
    return values


def _defaults(layout: _Layout) -> list[Any]:
    """Each column's value for a plain row without it: one instant for the timestamps."""
    now = timezone.now()
    return [now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default() for f in layout.fields]


def _plain_values(row: Any, layout: _Layout, defaults: list[Any]) -> list[Any]:
    values = [getattr(row, name, default)
              for name, default in zip(layout.attnames, defaults, strict=True)]
    for position, encoder in layout.json:
        if values[position] is not None:
            values[position] = json.dumps(values[position], cls=encoder)
    return values


@cache
def _layout(model: type[models.Model]) -> _Layout:
    fields = [f for f in model._meta.concrete_fields
              if not f.generated and not isinstance(f, AutoFieldMixin)]
    quote = connections[router.db_for_write(model)].ops.quote_name
    return _Layout(
        columns=[quote(f.column) for f in fields], fields=fields,
        attnames=[f.attname for f in fields],
        json=[(i, f.encoder) for i, f in enumerate(fields) if isinstance(f, models.JSONField)],
        stamped=[f for f in fields
                 if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)])

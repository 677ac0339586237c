"""A cursor whose statements PostgreSQL parses and plans once per connection.

Django binds parameters on the client by default, so PostgreSQL parses and plans
every statement anew: for the single-event ingest's contact read, event INSERT
and wake-up read that was about a third of PostgreSQL's CPU per event. The hot
ingest statements run through `prepared_cursor()`, which binds parameters on the
server and prepares each statement text at its first run on a connection
(psycopg keeps the 100 most recent per connection).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import is_psycopg3


class PreparingCursor(ServerBindingCursor):
    """psycopg's server-binding cursor, preparing every statement it runs."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                binary: bool | None = None) -> Any:
        return super().execute(query, params, prepare=True if prepare is None else prepare,
                               binary=binary)


def prepared_cursor() -> Any:
    """Django's cursor wrapper (query capture, execute wrappers and error wrapping
    apply as to any cursor); on PostgreSQL over a `PreparingCursor`. Its
    parameters reach PostgreSQL typed (a Python str as `unknown`, so the column
    or operator gives it its type)."""
    if connection.vendor != "postgresql" or not is_psycopg3:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(PreparingCursor(connection.connection))

"""Django's PostgreSQL backend, with a cheaper per-request health check.

CONN_HEALTH_CHECKS makes Django send `SELECT 1` before the first query of every
request that reuses a connection: one of the six round trips of a
`POST /v1/events`. A connection the server has dropped (a restart, an idle
timeout, pg_terminate_backend) is not silent: the server sends its FATAL error
and closes the socket, so the socket turns readable. An idle connection whose
socket has nothing to read is taken as healthy without asking; anything else
(something to read, a broken or busy connection) still gets Django's `SELECT 1`,
and a failure closes the connection so the request opens a new one.
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import is_psycopg3

from hogsend_site.prepared import PreparingCursor


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        # A prepared statement keeps no client-side text: show it with its values
        # merged, as Django's own cursors do (query capture and logging only).
        if isinstance(cursor, PreparingCursor):
            return self.compose_sql(sql, params)
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def close_if_health_check_failed(self) -> None:
        if (not self.pool and self.connection is not None and not self.health_check_done
                and getattr(self, "health_check_enabled", False) and self._quiet()):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _quiet(self) -> bool:
        """Idle, outside a transaction, and nothing from the server waiting to be read."""
        if not is_psycopg3:
            return False
        from psycopg import pq

        pgconn = self.connection.pgconn
        if (pgconn.status != pq.ConnStatus.OK
                or pgconn.transaction_status != pq.TransactionStatus.IDLE):
            return False
        poll = select.poll()
        try:
            poll.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        except Exception:  # no socket: let SELECT 1 decide
            return False
        return not poll.poll(0)

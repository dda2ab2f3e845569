"""Django's PostgreSQL backend, checking each pooled connection it borrows without a backoff.

psycopg_pool can check a connection before handing it out (Django passes that check when
CONN_HEALTH_CHECKS is on), but it waits 1 s, then 2 s, ... between retries. After PostgreSQL
drops every backend at once (a restart, a failover, pg_terminate_backend, a proxy's idle
timeout) every idle connection in the pool is dead, so a request walks them one by one through
that backoff into a PoolTimeout: the 10 s hang and 500 this replaces. Here the first dead one
makes the pool check all its idle connections (`ConnectionPool.check()` discards the broken
ones and opens replacements in the background) and the request borrows again at once, waiting
at most DB_POOL_TIMEOUT for a fresh connection.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

# A dead connection, a sweep, then a fresh one: more attempts would mean the server is down.
BORROW_ATTEMPTS = 3


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        pool = self.pool  # type: ignore[attr-defined]  # Django 5.1+, not in the stubs yet
        if pool is None:
            return connection
        for _attempt in range(BORROW_ATTEMPTS - 1):
            try:
                ConnectionPool.check_connection(connection)
            except Exception:  # noqa: BLE001 - whatever broke it, this connection is done
                logger.warning("pooled database connection was dead; checking the idle ones")
                pool.putconn(connection)  # closed: the pool discards it and opens another
                pool.check()
                connection = super().get_new_connection(conn_params)
            else:
                return connection
        ConnectionPool.check_connection(connection)  # fails the request (503) if still dead
        return connection

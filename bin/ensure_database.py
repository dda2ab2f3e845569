"""Create the PostgreSQL database DATABASE_URL names when it is missing (`make migrate` runs this).

Off the embedded default `manage.py migrate` would otherwise wait for the connection pool and
fail with a pool timeout, the real cause a dozen lines above. This says the cause in one line:
the server is unreachable, the credentials are refused, or the database was created.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import dj_database_url
import psycopg
from psycopg import sql


def one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return 0  # the embedded default: SQLite makes its own file
    db = dj_database_url.parse(url)
    if "postgresql" not in db["ENGINE"]:
        return 0
    params: dict[str, Any] = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "connect_timeout": 5,
    }
    name = db["NAME"]
    try:
        with psycopg.connect(dbname=name, **params):
            return 0
    except psycopg.OperationalError as exc:
        if f'database "{name}" does not exist' not in str(exc):
            print(f"DATABASE_URL: cannot connect: {one_line(exc)}", file=sys.stderr)
            return 1
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        return 0  # made by someone else meanwhile
    except psycopg.Error as exc:
        print(
            f"DATABASE_URL: {name!r} is missing, creating it failed: {one_line(exc)}",
            file=sys.stderr,
        )
        return 1
    print(f"Created PostgreSQL database {name!r}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

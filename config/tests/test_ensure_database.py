"""`make migrate`: a missing database is created; an unreachable server is said in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings

from conftest import fullstack
from testkit.live import server_database_url
from testkit.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def ensure(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "bin/ensure_database.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def with_path(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@fullstack
def test_a_missing_database_is_created_once() -> None:
    name = f"shop_newcomer_{uuid.uuid4().hex[:8]}"
    url = with_path(server_database_url(), name)
    db = settings.DATABASES["default"]
    admin = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    try:
        first = ensure(url)
        assert (first.returncode, first.stdout, first.stderr) == (
            0,
            f"Created PostgreSQL database '{name}'.\n",
            "",
        )
        again = ensure(url)
        assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def test_an_unreachable_server_is_said_in_one_line() -> None:
    result = ensure(f"postgres://postgres@127.0.0.1:{free_port()}/shop")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("DATABASE_URL: cannot connect: ")
    assert result.stderr.count("\n") == 1


def test_the_embedded_default_needs_nothing() -> None:
    result = ensure("")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")

"""Which constraint an IntegrityError broke, so services can answer it without echoing SQL."""

from __future__ import annotations

from typing import Literal

from django.db import IntegrityError

IntegrityKind = Literal["unique", "foreign_key", "check", "not_null", "other"]

# PostgreSQL's SQLSTATE codes, and the words SQLite's messages start with.
_SQLSTATES: dict[str, IntegrityKind] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23514": "check",
    "23502": "not_null",
}
_SQLITE_WORDS: dict[str, IntegrityKind] = {
    "UNIQUE": "unique",
    "FOREIGN KEY": "foreign_key",
    "CHECK": "check",
    "NOT NULL": "not_null",
}


def integrity_kind(exc: IntegrityError) -> IntegrityKind:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate is not None:
        return _SQLSTATES.get(sqlstate, "other")
    message = str(exc)
    for words, kind in _SQLITE_WORDS.items():
        if message.startswith(words):
            return kind
    return "other"

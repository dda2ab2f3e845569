"""`.env.example` lists every environment variable the settings read, and no other."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(r"""(?:os\.environ\.get|os\.getenv|_env_\w+)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
LISTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", re.M)


def read_by_settings() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        if path.name != "test.py":  # the test settings read only what the tests set
            names |= set(READS.findall(path.read_text()))
    return names


def test_every_variable_the_settings_read_is_in_env_example() -> None:
    listed = set(LISTED.findall((ROOT / ".env.example").read_text()))
    read = read_by_settings()
    assert len(read) >= 20
    assert sorted(read - listed) == []
    assert sorted(listed - read) == []  # and nothing stale

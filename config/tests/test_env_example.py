"""`.env.example` lists every variable the settings and the process commands read, no other."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(r"""(?:os\.environ\.get|os\.getenv|_env_\w+)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
SHELL_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]+)")
LISTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", re.M)


def read_by_the_app() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        if path.name != "test.py":  # the test settings read only what the tests set
            names |= set(READS.findall(path.read_text()))
    for path in (ROOT / "bin" / "web", ROOT / "Procfile"):  # the processes' own commands
        names |= set(SHELL_READS.findall(path.read_text()))
    return names


def test_every_variable_the_settings_read_is_in_env_example() -> None:
    listed = set(LISTED.findall((ROOT / ".env.example").read_text()))
    read = read_by_the_app()
    assert len(read) >= 20
    assert sorted(read - listed) == []
    assert sorted(listed - read) == []  # and nothing stale
